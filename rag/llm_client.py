"""The chat-completions client of the optional language-model mode: any OpenAI-compatible endpoint.

`LLMClient` speaks the chat-completions protocol (Ollama, llama.cpp server, vLLM or a hosted provider), streamed
(server-sent events) or not. The endpoint and model come from the caller (`--llm-url`, `--llm-model`) or from
the environment (INNOSOC_LLM_URL, INNOSOC_LLM_MODEL, INNOSOC_LLM_TIMEOUT); the API key comes from the
environment only (INNOSOC_LLM_API_KEY, else OPENAI_API_KEY) and never appears in a log line or an error message.
"""
from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from .errors import LLMError

log = logging.getLogger(__name__)

ENV_URL = "INNOSOC_LLM_URL"
ENV_MODEL = "INNOSOC_LLM_MODEL"
ENV_TIMEOUT = "INNOSOC_LLM_TIMEOUT"
ENV_KEYS = ("INNOSOC_LLM_API_KEY", "OPENAI_API_KEY")
# A small model on a laptop CPU needs tens of seconds to read five passages before its first token.
DEFAULT_TIMEOUT = 120.0


def _api_key() -> str | None:
    for name in ENV_KEYS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _safe_url(url: str) -> str:
    """The URL without credentials or query string, fit for messages and logs."""
    p = urlsplit(url)
    host = p.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{p.port}" if p.port else host
    return urlunsplit((p.scheme, netloc, p.path, "", ""))


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error(kind: str, message: str, status: int | None = None) -> LLMError:
    e = LLMError(message)
    e.kind = kind          # "timeout", "connect", "interrupted", "http", "auth", "protocol", "empty", "config"
    e.status = status
    return e


class LLMClient:
    """A chat-completions client for one endpoint and model.

    `timeout` (seconds) bounds the whole reply when not streamed, and the wait for the first token and between
    two tokens when streamed."""

    def __init__(self, url: str, model: str, timeout: float = DEFAULT_TIMEOUT, *, temperature: float = 0.1,
                 max_tokens: int = 700):
        url = (url or "").strip()
        if url and "://" not in url:
            url = "http://" + url  # "localhost:11434/v1"
        p = urlsplit(url)
        if p.scheme not in ("http", "https") or not p.hostname:
            raise _error("config", f"Adresse du modèle de langue invalide « {_safe_url(url)} » : "
                                   "donnez une URL http(s), par exemple http://localhost:11434/v1 (Ollama).")
        if not (model or "").strip():
            raise _error("config", "Nom du modèle de langue manquant : donnez --llm-model NOM (ou la variable "
                                   f"{ENV_MODEL}), par exemple qwen2.5:3b.")
        if timeout is None or timeout <= 0:
            raise _error("config", f"Délai du modèle de langue invalide ({timeout}) : donnez un nombre de "
                                   "secondes positif.")
        path = p.path.rstrip("/")
        # A bare host is taken to be the usual OpenAI-compatible layout (/v1), as Ollama, llama.cpp and vLLM serve.
        if not path:
            path = "/v1"
        if not path.endswith("/chat/completions"):
            path += "/chat/completions"
        self.endpoint = urlunsplit((p.scheme, p.netloc, path, p.query, ""))
        self.url = _safe_url(self.endpoint)
        self.model = model.strip()
        self.timeout = float(timeout)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._key = _api_key()
        # Proxies from the environment are for the outside world; a local server is reached directly.
        self._trust_env = not _is_loopback(p.hostname)
        if self._key and p.scheme == "http" and not _is_loopback(p.hostname):
            log.warning("La clé d'API est envoyée en clair (http) à %s : préférez une adresse https.", self.url)

    def __repr__(self) -> str:
        return f"LLMClient(url={self.url!r}, model={self.model!r}, timeout={self.timeout})"

    # -- public calls -----------------------------------------------------------------------------
    def chat(self, messages: list[dict], *, max_tokens: int | None = None, temperature: float | None = None) -> str:
        """The model's reply to `messages`, whole. Raises LLMError."""
        body = self._body(messages, max_tokens, temperature, stream=False)
        deadline = time.monotonic() + self.timeout
        with self._request(body) as resp:
            data = bytearray()
            try:
                for piece in resp.iter_bytes():
                    data += piece
                    if time.monotonic() > deadline:
                        raise self._timeout()
            except LLMError:
                raise
            except Exception as e:  # noqa: BLE001 — every transport failure becomes an LLMError
                raise self._transport(e) from None
        return self._content(bytes(data))

    def stream_chat(self, messages: list[dict], *, max_tokens: int | None = None,
                    temperature: float | None = None) -> Iterator[str]:
        """The model's reply to `messages`, piece by piece as the server sends it. Raises LLMError."""
        body = self._body(messages, max_tokens, temperature, stream=True)
        with self._request(body) as resp:
            ctype = resp.headers.get("content-type", "")
            try:
                if "text/event-stream" not in ctype:
                    # Some servers ignore "stream": true and answer in one JSON document.
                    yield self._content(resp.read())
                    return
                done = False
                for line in resp.iter_lines():
                    line = line.strip()
                    if not line.startswith("data:"):
                        continue  # blank separators, "event:" and ": keep-alive" comments
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        done = True
                        break
                    delta = self._delta(payload)
                    if delta:
                        yield delta
                if not done:
                    log.info("Flux du modèle terminé sans [DONE] (%s)", self.url)
            except LLMError:
                raise
            except Exception as e:  # noqa: BLE001
                raise self._transport(e) from None

    # -- plumbing ---------------------------------------------------------------------------------
    def _body(self, messages, max_tokens, temperature, stream: bool) -> dict:
        return {"model": self.model, "messages": messages, "stream": stream,
                "temperature": self.temperature if temperature is None else temperature,
                "max_tokens": max_tokens or self.max_tokens}

    def _headers(self) -> dict:
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self._key:
            h["Authorization"] = f"Bearer {self._key}"
        return h

    def _redact(self, text: str) -> str:
        if self._key and len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return re.sub(r"(?i)(bearer\s+)\S+", r"\1***", text)

    def _timeout(self) -> LLMError:
        return _error("timeout", f"Le modèle de langue ({self.model}, {self.url}) n'a pas répondu en "
                                 f"{self.timeout:g} s. Augmentez le délai ({ENV_TIMEOUT} ou --llm-timeout) "
                                 "ou choisissez un modèle plus petit.")

    def _transport(self, e: Exception) -> LLMError:
        import httpx

        if isinstance(e, httpx.TimeoutException):
            return self._timeout()
        if isinstance(e, httpx.ConnectError):
            return _error("connect", f"Impossible de joindre le modèle de langue à {self.url}. Vérifiez que le "
                                     "serveur tourne (Ollama : « ollama serve ») et l'adresse --llm-url.")
        if isinstance(e, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            return _error("interrupted", f"La connexion au modèle de langue ({self.url}) a été interrompue "
                                         "pendant la réponse. Réessayez ; si cela persiste, consultez les "
                                         "journaux du serveur.")
        return _error("connect", f"Échec de la requête au modèle de langue ({self.url}) : "
                                 f"{self._redact(type(e).__name__)}. Vérifiez l'adresse --llm-url.")

    @contextlib.contextmanager
    def _request(self, body: dict):
        """One POST with its streamed response; connection failures and HTTP errors become LLMError."""
        import httpx

        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        with httpx.Client(timeout=timeout, trust_env=self._trust_env, follow_redirects=False) as client:
            try:
                cm = client.stream("POST", self.endpoint, json=body, headers=self._headers())
                resp = cm.__enter__()
            except Exception as e:  # noqa: BLE001
                raise self._transport(e) from None
            try:
                if resp.status_code >= 400:
                    raise self._http_error(resp)
                yield resp
            finally:
                try:
                    cm.__exit__(None, None, None)
                except Exception:  # noqa: BLE001 — closing a broken connection must not mask the real error
                    pass

    def _http_error(self, resp) -> LLMError:
        status = resp.status_code
        try:
            raw = resp.read()[:4000].decode("utf-8", "replace")
        except Exception:  # noqa: BLE001
            raw = ""
        detail = raw
        try:
            err = json.loads(raw).get("error", raw)
            detail = err.get("message", str(err)) if isinstance(err, dict) else str(err)
        except (ValueError, AttributeError):
            pass
        detail = " ".join(self._redact(detail).split())[:200]
        detail = f" Détail du serveur : {detail}" if detail else ""
        if status in (401, 403):
            return _error("auth", f"Le serveur du modèle de langue refuse l'accès (HTTP {status}) à {self.url} : "
                                  f"vérifiez la clé d'API dans la variable d'environnement {ENV_KEYS[0]} "
                                  f"(ou {ENV_KEYS[1]}).{detail}", status)
        if status == 404:
            return _error("http", f"Adresse ou modèle introuvable (HTTP 404) sur {self.url} : vérifiez que "
                                  "--llm-url pointe vers la racine compatible OpenAI (Ollama : "
                                  f"http://localhost:11434/v1) et que le modèle « {self.model} » est installé "
                                  f"(Ollama : ollama pull {self.model}).{detail}", status)
        if status == 429:
            return _error("http", f"Le serveur du modèle de langue limite le débit (HTTP 429) : réessayez dans "
                                  f"un moment.{detail}", status)
        if status >= 500:
            return _error("http", f"Le serveur du modèle de langue a renvoyé une erreur (HTTP {status}) : "
                                  f"réessayez, ou consultez ses journaux.{detail}", status)
        return _error("http", f"Le serveur du modèle de langue a refusé la requête (HTTP {status}) : vérifiez "
                              f"--llm-model et --llm-url.{detail}", status)

    def _unreadable(self, what: str) -> LLMError:
        return _error("protocol", f"Réponse illisible du modèle de langue ({self.url}) : {what}. Est-ce bien un "
                                  "point d'accès compatible OpenAI /v1/chat/completions ?")

    def _content(self, data: bytes) -> str:
        try:
            doc = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise self._unreadable("JSON invalide") from None
        if isinstance(doc, dict) and doc.get("error"):
            raise self._unreadable(f"erreur signalée : {self._redact(str(doc['error']))[:200]}")
        try:
            content = doc["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise self._unreadable("pas de champ choices[0].message.content") from None
        if not isinstance(content, str) or not content.strip():
            raise _error("empty", f"Le modèle de langue ({self.model}) a renvoyé une réponse vide.")
        return content

    def _delta(self, payload: str) -> str:
        try:
            doc = json.loads(payload)
        except ValueError:
            raise self._unreadable("événement de flux en JSON invalide") from None
        if not isinstance(doc, dict):
            raise self._unreadable("événement de flux inattendu")
        if doc.get("error"):
            raise self._unreadable(f"erreur signalée : {self._redact(str(doc['error']))[:200]}")
        choices = doc.get("choices") or []
        if not choices:
            return ""  # usage or keep-alive chunks carry no text
        delta = (choices[0] or {}).get("delta") or {}
        content = delta.get("content")
        return content if isinstance(content, str) else ""


def make_llm_client_from_env(url: str | None = None, model: str | None = None,
                             timeout: float | None = None) -> LLMClient | None:
    """The client configured by the arguments, else by the environment; None when no URL is configured."""
    url = url or os.environ.get(ENV_URL, "").strip() or None
    if not url:
        return None
    model = model or os.environ.get(ENV_MODEL, "").strip()
    if timeout is None:
        raw = os.environ.get(ENV_TIMEOUT, "").strip()
        try:
            timeout = float(raw) if raw else DEFAULT_TIMEOUT
        except ValueError:
            raise _error("config", f"{ENV_TIMEOUT}=« {raw[:20]} » n'est pas un nombre de secondes.") from None
    return LLMClient(url, model, timeout)
