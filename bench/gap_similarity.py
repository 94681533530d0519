"""Similarity of paraphrased vs different questions, to set the grouping thresholds of « Questions sans réponse ».

    python bench/gap_similarity.py multilingual-e5-small all-MiniLM-L6-v2

Prints, per model, the cosine similarity of 4 pairs of paraphrases and 4 pairs of different needs (rag/feedback.py
SIMILARITY must fall between the two).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rag.embed import load_embedder  # noqa: E402
pairs_same = [("Comment financer une ferme éolienne citoyenne ?", "Comment financer un parc éolien citoyen ?"),
              ("Qu'est-ce qu'une SCIC ?", "C'est quoi une SCIC ?"),
              ("Quelles aides pour créer une recyclerie ?", "Comment obtenir des subventions pour ouvrir une ressourcerie ?"),
              ("Existe-t-il des études sur l'habitat participatif ?", "Des ressources sur l'habitat participatif ?")]
pairs_diff = [("Comment financer une ferme éolienne citoyenne ?", "Quelle est la recette de la tarte tatin ?"),
              ("Qu'est-ce qu'une SCIC ?", "Qu'est-ce qu'une SCOP ?"),
              ("Quelles aides pour créer une recyclerie ?", "Existe-t-il des études sur l'habitat participatif ?"),
              ("Comment financer une ferme éolienne citoyenne ?", "Comment financer une épicerie solidaire ?")]
for name in sys.argv[1:] or ["multilingual-e5-small", "all-MiniLM-L6-v2"]:
    e = load_embedder(name)
    def sim(a, b):
        v = e.encode_queries([a, b])
        return float(v[0] @ v[1])

    print(name, "same", [round(sim(a, b), 3) for a, b in pairs_same])
    print(name, "diff", [round(sim(a, b), 3) for a, b in pairs_diff])
