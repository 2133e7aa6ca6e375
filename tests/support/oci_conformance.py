"""An index checked against the OCI image-spec v1.1 and BuildKit's attestation-storage rules, by code of its own:
it reads the registry with urllib and parses the JSON itself, sharing nothing with the collection's writer or
reader (plugins/module_utils/registry), so a bug there cannot hide here.

OCI image-spec v1.1 (image-index.md, manifest.md, descriptor.md, annotations.md, config.md):
- index and manifest: `schemaVersion` 2, `mediaType` the one of the document (and the one of the descriptor that
  pointed at it); an index has `manifests`; a manifest has `config` and `layers`;
- descriptor: `mediaType` an RFC 6838 media type, `digest` `<algorithm>:<encoded>` (sha256: 64 lower-case hex),
  `size` a non-negative integer, optional `urls` (strings), `annotations` (string -> string), `artifactType`,
  `platform` (`architecture` and `os` required strings; `os.version`, `variant` strings; `os.features` strings);
- every referenced manifest and blob fetched from the registry has exactly the descriptor's size and digest;
- annotation keys and values are strings (keys non-empty).
BuildKit attestation storage (docs.docker.com/build/metadata/attestations/attestation-storage):
- an attestation manifest is an image manifest in the index with platform `unknown/unknown`, annotations
  `vnd.docker.reference.type: attestation-manifest` and `vnd.docker.reference.digest: <subject digest>`, the subject
  being an image manifest of the same index; its config is a valid image config;
- its layers of media type `application/vnd.in-toto+json` each carry `in-toto.io/predicate-type` and hold an in-toto
  statement (`_type` https://in-toto.io/Statement/v0.1 or v1, `predicateType` = the annotation, `subject` naming the
  subject manifest's digest); other layer media types are ignored.
Where an attestation sits: BuildKit's document puts attestation manifests "in the manifests key, after all the
original runnable manifests" (what BuildKit's own multi-platform push writes; readers find them by
vnd.docker.reference.digest, never by position); the farm's contract (and `imagetools create` merging per-platform
indexes) puts each right after its subject. `order` checks one or the other: "adjacent" (the farm's contract),
"after-images" (the document's letter) or "any". A one-image index satisfies both.
"""
from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from typing import Any, Callable, Mapping

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
IN_TOTO = "application/vnd.in-toto+json"
PREDICATE_TYPE = "in-toto.io/predicate-type"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
REF_TYPE = "vnd.docker.reference.type"
REF_DIGEST = "vnd.docker.reference.digest"
# RFC 6838 restricted-name, type/subtype(+suffix)
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")

Fetch = Callable[[str], bytes]  # digest -> bytes (a manifest or a blob of the repository)


def _descriptor(d: Any, where: str) -> list[str]:
    if not isinstance(d, Mapping):
        return ["%s: not an object" % where]
    out = []
    mt = d.get("mediaType")
    if not isinstance(mt, str) or not _MEDIA_TYPE.match(mt):
        out.append("%s: mediaType %r is not a media type" % (where, mt))
    digest = d.get("digest")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        out.append("%s: digest %r is not <algorithm>:<encoded>" % (where, digest))
    elif digest.startswith("sha256:") and not _SHA256.match(digest):
        out.append("%s: digest %r is not sha256 with 64 lower-case hex digits" % (where, digest))
    size = d.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        out.append("%s: size %r is not a non-negative integer" % (where, size))
    if "urls" in d and (not isinstance(d["urls"], list) or not all(isinstance(u, str) for u in d["urls"])):
        out.append("%s: urls is not a list of strings" % where)
    if "artifactType" in d and (not isinstance(d["artifactType"], str) or not _MEDIA_TYPE.match(d["artifactType"])):
        out.append("%s: artifactType %r is not a media type" % (where, d["artifactType"]))
    out += _annotations(d.get("annotations"), where)
    if "platform" in d:
        out += _platform(d["platform"], where + ".platform")
    return out


def _annotations(ann: Any, where: str) -> list[str]:
    if ann is None:
        return []
    if not isinstance(ann, Mapping):
        return ["%s: annotations is not an object" % where]
    return ["%s: annotation %r=%r is not string to string" % (where, k, v) for k, v in ann.items()
            if not isinstance(k, str) or not k or not isinstance(v, str)]


def _platform(p: Any, where: str) -> list[str]:
    if not isinstance(p, Mapping):
        return ["%s: not an object" % where]
    out = ["%s: %s is missing or not a non-empty string" % (where, k) for k in ("architecture", "os")
           if not isinstance(p.get(k), str) or not p.get(k)]
    out += ["%s: %s is not a string" % (where, k) for k in ("os.version", "variant") if k in p
            and not isinstance(p[k], str)]
    out += ["%s: %s is not a list of strings" % (where, k) for k in ("os.features", "features") if k in p
            and (not isinstance(p[k], list) or not all(isinstance(x, str) for x in p[k]))]
    return out


def _fetch_checked(fetch: Fetch, d: Mapping, where: str) -> tuple[bytes | None, list[str]]:
    try:
        data = fetch(d["digest"])
    except Exception as exc:  # noqa: BLE001  (whatever the fetch raised is the finding)
        return None, ["%s: %s cannot be fetched: %s" % (where, d.get("digest"), exc)]
    out = []
    if len(data) != d.get("size"):
        out.append("%s: %s is %d bytes, the descriptor says %r" % (where, d["digest"], len(data), d.get("size")))
    algo, _sep, encoded = str(d["digest"]).partition(":")
    if algo in hashlib.algorithms_available and hashlib.new(algo, data).hexdigest() != encoded:
        out.append("%s: content of %s does not match its digest" % (where, d["digest"]))
    return data, out


def _json(data: bytes, where: str) -> tuple[Any, list[str]]:
    try:
        return json.loads(data.decode("utf-8")), []
    except (ValueError, UnicodeDecodeError) as exc:
        return None, ["%s: not JSON: %s" % (where, exc)]


def check_manifest(doc: Any, media_type: str, fetch_blob: Fetch, where: str) -> list[str]:
    """An image manifest: its fields and every blob it references (size and digest)."""
    if not isinstance(doc, Mapping):
        return ["%s: not an object" % where]
    out = []
    if doc.get("schemaVersion") != 2:
        out.append("%s: schemaVersion %r is not 2" % (where, doc.get("schemaVersion")))
    if doc.get("mediaType", media_type) != media_type:
        out.append("%s: mediaType %r differs from its descriptor's %r" % (where, doc.get("mediaType"), media_type))
    out += _annotations(doc.get("annotations"), where)
    config = doc.get("config")
    if config is None:
        out.append("%s: has no config" % where)
    layers = doc.get("layers")
    if not isinstance(layers, list):
        out.append("%s: layers is not a list" % where)
        layers = []
    for name, d in ([("config", config)] if config is not None else []) + [
            ("layers[%d]" % i, layer) for i, layer in enumerate(layers)]:
        bad = _descriptor(d, "%s.%s" % (where, name))
        out += bad
        if bad or (isinstance(d, Mapping) and d.get("urls")):
            continue  # foreign layers live elsewhere
        data, problems = _fetch_checked(fetch_blob, d, "%s.%s" % (where, name))
        out += problems
        if name == "config" and data is not None:
            cfg, problems = _json(data, where + ".config")
            out += problems
            if isinstance(cfg, Mapping) and not (isinstance(cfg.get("architecture"), str)
                                                 and isinstance(cfg.get("os"), str)):
                out.append("%s.config: architecture and os are not strings" % where)
    return out


def check_attestation(doc: Mapping, subject: str, fetch_blob: Fetch, where: str) -> list[str]:
    """BuildKit's attestation manifest rules: in-toto layers with their predicate type, statements about the
    subject."""
    out = []
    layers = [x for x in doc.get("layers") or [] if isinstance(x, Mapping)]
    in_toto = [x for x in layers if x.get("mediaType") == IN_TOTO]
    if not in_toto:
        out.append("%s: no %s layer" % (where, IN_TOTO))
    for layer in in_toto:
        at = "%s.layers[%s]" % (where, layer.get("digest"))
        ptype = (layer.get("annotations") or {}).get(PREDICATE_TYPE)
        if not isinstance(ptype, str) or not ptype:
            out.append("%s: no %s annotation" % (at, PREDICATE_TYPE))
        try:
            data = fetch_blob(layer["digest"])
        except Exception as exc:  # noqa: BLE001
            out.append("%s: cannot be fetched: %s" % (at, exc))
            continue
        st, problems = _json(data, at)
        out += problems
        if not isinstance(st, Mapping):
            continue
        if st.get("_type") not in STATEMENT_TYPES:
            out.append("%s: _type %r is not an in-toto statement" % (at, st.get("_type")))
        if st.get("predicateType") != ptype:
            out.append("%s: predicateType %r differs from the layer's %r" % (at, st.get("predicateType"), ptype))
        subjects = st.get("subject")
        if not isinstance(subjects, list) or not subjects:
            out.append("%s: no subject" % at)
            continue
        hexes = [(s.get("digest") or {}).get("sha256") for s in subjects if isinstance(s, Mapping)]
        if subject.partition(":")[2] not in hexes:
            out.append("%s: subject %s is not the attested manifest %s" % (at, hexes, subject))
    return out


ORDERS = ("adjacent", "after-images", "any")


def check_index_document(data: bytes, content_type: str, fetch_manifest: Fetch, fetch_blob: Fetch,
                         order: str = "adjacent", where: str = "index") -> list[str]:
    """Every problem of one index (its bytes as served) and of what it references; [] when it conforms."""
    if order not in ORDERS:
        raise ValueError("order %r is not one of %s" % (order, ", ".join(ORDERS)))
    doc, out = _json(data, where)
    if not isinstance(doc, Mapping):
        return out or ["%s: not an object" % where]
    if doc.get("schemaVersion") != 2:
        out.append("%s: schemaVersion %r is not 2" % (where, doc.get("schemaVersion")))
    media_type = doc.get("mediaType")
    if media_type != OCI_INDEX:
        out.append("%s: mediaType %r is not %s" % (where, media_type, OCI_INDEX))
    if content_type and content_type.split(";")[0].strip() != (media_type or content_type):
        out.append("%s: served as %r, its mediaType is %r" % (where, content_type, media_type))
    out += _annotations(doc.get("annotations"), where)
    manifests = doc.get("manifests")
    if not isinstance(manifests, list):
        return out + ["%s: manifests is not a list" % where]
    digests = [m.get("digest") for m in manifests if isinstance(m, Mapping)]
    seen_attested: set[str] = set()
    for i, m in enumerate(manifests):
        at = "%s.manifests[%d]" % (where, i)
        bad = _descriptor(m, at)
        out += bad
        if bad:
            continue
        if m["mediaType"] not in MANIFEST_TYPES + INDEX_TYPES:
            continue  # an artifact: nothing more the spec asks here
        data, problems = _fetch_checked(fetch_manifest, m, at)
        out += problems
        if data is None:
            continue
        child, problems = _json(data, at)
        out += problems
        if m["mediaType"] in INDEX_TYPES:
            continue  # a nested index: checked by its own call
        out += check_manifest(child, m["mediaType"], fetch_blob, at)
        ann = m.get("annotations") or {}
        if ann.get(REF_TYPE) == "attestation-manifest":
            subject = ann.get(REF_DIGEST)
            if m.get("platform") != {"architecture": "unknown", "os": "unknown"}:
                out.append("%s: attestation platform %r is not unknown/unknown" % (at, m.get("platform")))
            if subject not in digests:
                out.append("%s: %s %r is not a manifest of this index" % (at, REF_DIGEST, subject))
            elif any((x.get("annotations") or {}).get(REF_TYPE) == "attestation-manifest" for x in manifests
                     if isinstance(x, Mapping) and x.get("digest") == subject):
                out.append("%s: its subject %s is itself an attestation" % (at, subject))
            if subject in seen_attested:
                out.append("%s: a second attestation manifest of %s" % (at, subject))
            seen_attested.add(str(subject))
            if order == "adjacent" and (i == 0 or manifests[i - 1].get("digest") != subject):
                out.append("%s: attestation of %s is not right after it" % (at, subject))
            if order == "after-images" and any(
                    isinstance(x, Mapping) and (x.get("annotations") or {}).get(REF_TYPE) != "attestation-manifest"
                    for x in manifests[i + 1:]):
                out.append("%s: attestation before a runnable manifest (BuildKit puts them after all of them)" % at)
            if isinstance(child, Mapping):
                out += check_attestation(child, str(subject), fetch_blob, at)
        elif (m.get("platform") or {}).get("os") == "unknown":
            out.append("%s: platform unknown/unknown without the attestation annotations" % at)
    return out


def check_registry_index(registry: str, repository: str, reference: str, order: str = "adjacent",
                         scheme: str = "http") -> list[str]:
    """Fetch `<registry>/<repository>:<reference>` with urllib and check it and all it references."""
    base = "%s://%s/v2/%s" % (scheme, registry, repository)
    accept = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))

    def get(url: str, headers: Mapping[str, str] | None = None) -> tuple[bytes, str]:
        req = urllib.request.Request(url, headers=dict(headers or {}))
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310  (a test registry's URL)
            return resp.read(), resp.headers.get("Content-Type", "")

    data, content_type = get("%s/manifests/%s" % (base, reference), {"Accept": accept})
    return check_index_document(
        data, content_type, lambda d: get("%s/manifests/%s" % (base, d), {"Accept": accept})[0],
        lambda d: get("%s/blobs/%s" % (base, d))[0], order, "%s:%s" % (repository, reference))


def runnable_platforms(index: Mapping) -> set[str]:
    """The `os/architecture[/variant]` of an index's runnable members: its attestation manifests (platform
    unknown/unknown, annotated as such) left out, as `docker pull` leaves them out."""
    return {"/".join(x for x in (m["platform"]["os"], m["platform"]["architecture"], m["platform"].get("variant", ""))
                     if x)
            for m in index.get("manifests", [])
            if (m.get("annotations") or {}).get(REF_TYPE) != "attestation-manifest"}
