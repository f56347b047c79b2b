"""Reads a catalog folder, checks it all, and reports every problem with its file, line and field.

The loader never stops at the first problem and never lets a raw traceback out: YAML syntax errors,
schema errors (unknown keys, missing fields, wrong types) and catalog-wide rules (unknown references,
duplicate ids, id and file name) all become ``Problem`` values. ruamel.yaml's round-trip loader keeps
the line of every key and item, so a pydantic error location maps back to the line an admin edits.
The fee tariffs under ``tariffs/`` are read and checked with the same machinery (``catalog.tariffs.loading``),
so a broken tariff fails the load like any other file and a reload keeps the catalog in service.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from catalog.index import Catalog
from catalog.problems import CatalogError, Problem, format_path
from catalog.schema import (
    GROUPS,
    CountyFile,
    FieldType,
    Organization,
    OrganizationKind,
    Platform,
    ResolvedService,
    Service,
    resolve_service,
)
from catalog.tariffs.loading import load_tariffs

__all__ = ["CatalogHolder", "catalog_yaml", "check_catalog", "load_catalog"]

logger = logging.getLogger(__name__)

_CACHE_PREFIX = "catalog-"
_SUFFIXES = (".yaml", ".yml")
_ORGANIZATIONS = "organizations"
_SERVICES = "services"
_COUNTY = "county.yaml"

_NATIONAL_ID_KINDS = (FieldType.NATIONAL_ID,)
_HOLDER_KINDS = (FieldType.TEXT,)
_PROPERTY_KINDS = (FieldType.TEXT, FieldType.LONG_TEXT, FieldType.POSTAL_CODE, FieldType.LOCATION)

Part = str | int
Parts = tuple[Part, ...]
M = TypeVar("M", bound=BaseModel)


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that keeps dates as strings: catalog dates are Jalali (1405-02-31 exists)."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


def catalog_yaml() -> YAML:
    """A YAML reader as the catalog needs: round-trip nodes (with their lines), dates kept as strings."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return yaml


_yaml = catalog_yaml


def _plain(node: Any) -> Any:
    """ruamel's round-trip nodes as plain Python values, so validated models hold ordinary str/int/list/dict."""
    if isinstance(node, dict):
        return {_plain(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _line_of(root: Any, parts: Parts) -> int:
    """The 1-based line of the field at ``parts``, or of its nearest parent that exists in the file."""
    line = 1
    node = root
    for part in parts:
        try:
            if isinstance(node, CommentedMap) and not isinstance(part, int) and part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        except (AttributeError, KeyError, TypeError):  # a node without position data: keep the parent's line
            break
    return line


def _has_child(node: Any, part: Part) -> bool:
    if isinstance(part, int):
        return isinstance(node, list) and 0 <= part < len(node)
    return isinstance(node, dict) and part in node


def _exists(root: Any, parts: Parts) -> bool:
    node = root
    for part in parts:
        if not _has_child(node, part):
            return False
        node = node[part]
    return True


def _loc_to_parts(data: Any, loc: Sequence[Part]) -> list[Part]:
    """A pydantic error location as a path in the file: tags of discriminated unions and key markers dropped."""
    parts: list[Part] = []
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if part == "[key]":
            continue
        if _has_child(node, part):
            node = node[part]
        elif isinstance(node, dict) and not last:
            continue  # a union's tag (``fixed`` in fee.fixed.amount): not a key of the file
        else:
            node = None
        parts.append(part)
    return parts


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed(expected: str) -> str:
    # pydantic writes "'a', 'b' or 'c'"; list the ids plainly so the Persian line reads right too.
    names = re.findall(r"'([^']*)'", expected)
    return ", ".join(names) if names else expected


_TYPE_KEYS = {
    "string_type": "catalog.expected_string",
    "int_type": "catalog.expected_integer",
    "int_parsing": "catalog.expected_integer",
    "int_from_float": "catalog.expected_integer",
    "bool_type": "catalog.expected_boolean",
    "bool_parsing": "catalog.expected_boolean",
    "decimal_type": "catalog.expected_number",
    "decimal_parsing": "catalog.expected_number",
    "finite_number": "catalog.expected_number",
    "list_type": "catalog.expected_list",
    "dict_type": "catalog.expected_mapping",
    "model_type": "catalog.expected_mapping",
    "model_attributes_type": "catalog.expected_mapping",
}


def _classify(error: ErrorDetails) -> tuple[str, dict[str, str | int], Parts, Part | None]:
    """Message id, parameters, extra path parts and a sibling to point at, for one pydantic error."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = _short(error.get("input"))
    if kind.startswith(("catalog.", "tariffs.")):
        extra: Parts = (ctx["at_field"],) if "at_field" in ctx else ()
        near: Part | None = ctx.get("at_near")
        params: dict[str, str | int] = {
            name: _short(param) for name, param in ctx.items() if not name.startswith("at_")
        }
        return kind, params, extra, near
    if kind == "missing":
        return "catalog.missing", {}, (), None
    if kind == "extra_forbidden":
        return "catalog.unknown_key", {"key": _short(error["loc"][-1])}, (), None
    if kind in _TYPE_KEYS:
        return _TYPE_KEYS[kind], {"value": value}, (), None
    if kind == "string_pattern_mismatch":
        return "catalog.invalid_id", {"value": value}, (), None
    if kind == "string_too_short":
        return "catalog.empty", {}, (), None
    if kind == "string_too_long":
        return "catalog.too_long", {"value": value, "max": _short(ctx.get("max_length"))}, (), None
    if kind == "greater_than_equal":
        return "catalog.too_small", {"value": value, "min": _short(ctx.get("ge"))}, (), None
    if kind == "less_than_equal":
        return "catalog.too_large", {"value": value, "max": _short(ctx.get("le"))}, (), None
    if kind == "too_short":
        return "catalog.too_few", {"min": _short(ctx.get("min_length"))}, (), None
    if kind in ("enum", "literal_error"):
        return (
            "catalog.not_allowed",
            {"value": value, "allowed": _allowed(str(ctx.get("expected")))},
            (),
            None,
        )
    if kind == "union_tag_invalid":
        params = {"value": _short(ctx.get("tag")), "allowed": _allowed(str(ctx.get("expected_tags")))}
        return "catalog.not_allowed", params, ("kind",), None
    if kind == "union_tag_not_found":
        return "catalog.missing", {}, ("kind",), None
    return "catalog.invalid", {"detail": _short(error["msg"])}, (), None


@dataclass(frozen=True)
class _Loaded(Generic[M]):
    file: Path
    root: Any
    model: M


class _Loader:
    """One run over a catalog folder; collects problems instead of raising them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[Problem] = []
        self._roots: dict[Path, Any] = {}

    # reporting

    def report(
        self, file: Path, parts: Parts, key: str, near: Part | None = None, /, **params: str | int
    ) -> None:
        root = self._roots.get(file)
        at = parts
        if near is not None and parts and not _exists(root, parts):
            at = (*parts[:-1], near)
        line = _line_of(root, at) if root is not None else 0
        self.problems.append(Problem(file, line, format_path(parts), key, params))

    def report_validation(self, file: Path, data: Any, error: ValidationError, prefix: Parts = ()) -> None:
        for details in error.errors():
            key, params, extra, near = _classify(details)
            parts = (*prefix, *_loc_to_parts(data, [*prefix, *details["loc"]])[len(prefix) :], *extra)
            self.report(file, parts, key, near, **params)

    # reading

    def read(self, file: Path) -> tuple[Any, Any] | None:
        """The file's ruamel tree and its plain data, or None (with a problem) when it cannot be read."""
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.problems.append(Problem(file, 1, "", "catalog.not_utf8", {}))
            return None
        except OSError as exc:
            self.problems.append(Problem(file, 0, "", "catalog.unreadable", {"detail": _short(exc.strerror)}))
            return None
        try:
            root = _yaml().load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            detail = " ".join(part for part in (exc.context, exc.problem) if part)
            self.problems.append(Problem(file, line, "", "catalog.yaml_syntax", {"detail": _short(detail)}))
            return None
        except YAMLError as exc:
            self.problems.append(Problem(file, 1, "", "catalog.yaml_syntax", {"detail": _short(exc)}))
            return None
        if root is None:
            self.problems.append(Problem(file, 1, "", "catalog.empty_file", {}))
            return None
        self._roots[file] = root
        return root, _plain(root)

    def parse(self, file: Path, model: type[M]) -> _Loaded[M] | None:
        read = self.read(file)
        if read is None:
            return None
        root, data = read
        if not isinstance(data, dict):
            self.problems.append(Problem(file, 1, "", "catalog.expected_mapping", {"value": _short(data)}))
            return None
        try:
            return _Loaded(file, root, model.model_validate(data))
        except ValidationError as exc:
            self.report_validation(file, data, exc)
            return None

    def parse_folder(self, name: str, model: type[M]) -> list[_Loaded[M]] | None:
        folder = self.directory / name
        if not folder.is_dir():
            self.problems.append(Problem(folder, 0, "", "catalog.folder_missing", {"folder": name}))
            return None
        loaded: list[_Loaded[M]] = []
        for file in sorted(folder.iterdir()):
            if file.is_file() and file.suffix in _SUFFIXES and not file.name.startswith("."):
                item = self.parse(file, model)
                if item is not None:
                    loaded.append(item)
        return loaded

    # checks that need more than one field

    def check_duplicates(
        self, file: Path, items: Iterable[tuple[Parts, str]], key: str = "catalog.duplicate_id"
    ) -> None:
        """Report every id after its first appearance; ``items`` pairs each id's path with the id."""
        seen: set[str] = set()
        for parts, value in items:
            if value in seen:
                self.report(file, parts, key, id=value)
            seen.add(value)

    def check_id_matches_file(self, loaded: _Loaded[Any]) -> None:
        if loaded.model.id != loaded.file.stem:
            self.report(
                loaded.file, ("id",), "catalog.id_mismatch", id=loaded.model.id, expected=loaded.file.stem
            )

    def check_county(self, county: _Loaded[CountyFile]) -> None:
        districts = county.model.county.districts
        self.check_duplicates(
            county.file, ((("county", "districts", i, "id"), d.id) for i, d in enumerate(districts))
        )
        self.check_duplicates(
            county.file,
            (
                (("county", "districts", i, "rural_districts", j, "id"), r.id)
                for i, d in enumerate(districts)
                for j, r in enumerate(d.rural_districts)
            ),
        )
        categories = county.model.categories
        self.check_duplicates(
            county.file, ((("categories", i, "id"), c.id) for i, c in enumerate(categories))
        )

    def check_organizations(
        self,
        organizations: list[_Loaded[Organization]],
        districts: list[str] | None,
        rural_districts: dict[str, list[str]] | None = None,
    ) -> None:
        seen: dict[str, Path] = {}
        groups: dict[tuple[Platform, int], str] = {}
        company_codes: dict[int, str] = {}
        for loaded in organizations:
            org, file = loaded.model, loaded.file
            self.check_id_matches_file(loaded)
            if org.id in seen:
                self.report(file, ("id",), "catalog.duplicate_id", id=org.id)
            seen.setdefault(org.id, file)
            if org.id in GROUPS:
                self.report(file, ("id",), "catalog.id_reserved", id=org.id)
            if districts is not None and org.district not in districts:
                self.report(
                    file,
                    ("district",),
                    "catalog.unknown_district",
                    value=org.district,
                    allowed=", ".join(districts),
                )
            self.check_rural_district(loaded, rural_districts)
            for platform in Platform:
                chat_id = org.operator_groups.get(platform)
                if chat_id is None:
                    continue
                other = groups.setdefault((platform, chat_id), org.id)
                if other != org.id:
                    self.report(
                        file, ("operator_groups", platform.value), "catalog.group_shared", organization=other
                    )
            if org.billing is not None:
                # Two organizations with one company code would issue the same bill IDs.
                owner = company_codes.setdefault(org.billing.company_code, org.id)
                if owner != org.id:
                    self.report(
                        file, ("billing", "company_code"), "catalog.company_code_shared", organization=owner
                    )
            self.check_duplicates(
                file,
                (
                    (("clerks", i, "user_id"), f"{c.platform.value}:{c.user_id}")
                    for i, c in enumerate(org.clerks)
                ),
                key="catalog.duplicate_clerk",
            )

    def check_service(
        self,
        loaded: _Loaded[Service],
        categories: list[str] | None,
        organizations: dict[str, Organization] | None,
    ) -> dict[str, ResolvedService]:
        """Check one service against the catalog and resolve it for every organization that offers it."""
        service, file = loaded.model, loaded.file
        self.check_id_matches_file(loaded)
        if categories is not None and service.category not in categories:
            self.report(
                file,
                ("category",),
                "catalog.unknown_category",
                value=service.category,
                allowed=", ".join(categories),
            )
        self.check_documents_and_form(file, (), service.documents, service.form)
        self.check_certificate(file, service)
        for org_id, override in service.overrides.items():
            if override.documents is not None:
                self.check_documents_and_form(file, ("overrides", org_id), override.documents, [])
        if organizations is None:
            return {}
        offering: dict[str, None] = {}
        for index, name in enumerate(service.offered_by):
            if name in GROUPS:
                kinds = GROUPS[name]
                offering.update((org.id, None) for org in organizations.values() if org.kind in kinds)
            elif name in organizations and organizations[name].kind is OrganizationKind.AGENCY:
                self.report(file, ("offered_by", index), "catalog.agency_offers", value=name)
            elif name in organizations:
                offering[name] = None
            else:
                self.report(file, ("offered_by", index), "catalog.unknown_organization", value=name)
        for index, name in enumerate(service.inquiries):
            if name not in organizations:
                self.report(file, ("inquiries", index), "catalog.unknown_inquiry", value=name)
        self.check_duplicates(
            file,
            ((("inquiries", i), name) for i, name in enumerate(service.inquiries)),
            key="catalog.duplicate_id",
        )
        for org_id in service.overrides:
            if org_id in GROUPS:
                continue
            if org_id not in organizations:
                self.report(file, ("overrides", org_id), "catalog.unknown_organization", value=org_id)
            elif org_id not in offering:
                self.report(file, ("overrides", org_id), "catalog.override_not_offered", organization=org_id)
        resolved: dict[str, ResolvedService] = {}
        for org_id in offering:
            try:
                resolved[org_id] = resolve_service(service, org_id, organizations[org_id].kind)
            except ValidationError as exc:
                prefix: Parts = ("overrides", org_id) if org_id in service.overrides else ()
                data = _plain(loaded.root)
                self.report_validation(file, data, exc, prefix)
        return resolved

    def check_certificate(self, file: Path, service: Service) -> None:
        """Every field a ``certificate`` names is a question of the form, of a kind that can fill that part."""
        spec = service.certificate
        if spec is None:
            return
        fields = {field.id: field for field in service.form}
        references = (
            ("national_id_field", spec.national_id_field, _NATIONAL_ID_KINDS, True),
            ("holder_field", spec.holder_field, _HOLDER_KINDS, True),
            ("property_field", spec.property_field, _PROPERTY_KINDS, False),
        )
        for key, field_id, kinds, required in references:
            if field_id is None:
                continue
            parts: Parts = ("certificate", key)
            field = fields.get(field_id)
            if field is None:
                allowed = ", ".join(fields) or "-"
                self.report(file, parts, "catalog.certificate_unknown_field", value=field_id, allowed=allowed)
            elif field.type not in kinds:
                self.report(
                    file,
                    parts,
                    "catalog.certificate_field_type",
                    value=field_id,
                    type=field.type.value,
                    allowed=", ".join(kind.value for kind in kinds),
                )
            elif required and not field.required:
                self.report(file, parts, "catalog.certificate_field_optional", value=field_id)

    def check_documents_and_form(
        self, file: Path, prefix: Parts, documents: Sequence[Any], form: Sequence[Any]
    ) -> None:
        self.check_duplicates(
            file, (((*prefix, "documents", i, "id"), d.id) for i, d in enumerate(documents))
        )
        self.check_duplicates(file, (((*prefix, "form", i, "id"), f.id) for i, f in enumerate(form)))
        for i, field in enumerate(form):
            choices = field.choices or []
            self.check_duplicates(
                file, (((*prefix, "form", i, "choices", j, "id"), c.id) for j, c in enumerate(choices))
            )

    def check_rural_district(
        self, loaded: _Loaded[Organization], rural_districts: dict[str, list[str]] | None
    ) -> None:
        """A dehyari's rural district must be one of its own district's (unchecked while county.yaml is broken)."""
        org = loaded.model
        if org.rural_district is None or rural_districts is None or org.district not in rural_districts:
            return
        allowed = rural_districts[org.district]
        if org.rural_district not in allowed:
            self.report(
                loaded.file,
                ("rural_district",),
                "catalog.unknown_rural_district",
                value=org.rural_district,
                district=org.district,
                allowed=", ".join(allowed) or "-",
            )

    def county_ids(
        self, county_path: Path, county: CountyFile | None
    ) -> tuple[list[str] | None, list[str] | None]:
        """District and category ids, read leniently from a broken county.yaml so references are still checked."""
        if county is not None:
            return [d.id for d in county.county.districts], [c.id for c in county.categories]
        root = self._roots.get(county_path)
        if not isinstance(root, dict):
            return None, None
        data = _plain(root)

        def ids(items: Any) -> list[str] | None:
            if not isinstance(items, list):
                return None
            return [
                item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)
            ]

        county_data = data.get("county")
        districts = ids(county_data.get("districts")) if isinstance(county_data, dict) else None
        return districts, ids(data.get("categories"))

    # the whole folder

    def run(self) -> Catalog | None:
        if not self.directory.is_dir():
            self.problems.append(
                Problem(self.directory, 0, "", "catalog.no_directory", {"path": str(self.directory)})
            )
            return None
        county_path = self.directory / _COUNTY
        county: _Loaded[CountyFile] | None = None
        if county_path.is_file():
            county = self.parse(county_path, CountyFile)
        else:
            self.problems.append(Problem(county_path, 0, "", "catalog.file_missing", {"file": _COUNTY}))
        if county is not None:
            self.check_county(county)
        county_model = county.model if county is not None else None
        districts, categories = self.county_ids(county_path, county_model)

        loaded_orgs = self.parse_folder(_ORGANIZATIONS, Organization)
        organizations: dict[str, Organization] | None = None
        if loaded_orgs is not None:
            rural = (
                {d.id: [r.id for r in d.rural_districts] for d in county_model.county.districts}
                if county_model is not None
                else None
            )
            self.check_organizations(loaded_orgs, districts, rural)
            organizations = {}
            for loaded_org in loaded_orgs:
                organizations.setdefault(loaded_org.model.id, loaded_org.model)
            if not loaded_orgs and not any(p.file.parent.name == _ORGANIZATIONS for p in self.problems):
                self.problems.append(
                    Problem(self.directory / _ORGANIZATIONS, 0, "", "catalog.no_organizations", {})
                )

        loaded_services = self.parse_folder(_SERVICES, Service) or []
        resolved: dict[str, list[ResolvedService]] = {}
        service_ids: set[str] = set()
        for loaded in loaded_services:
            if loaded.model.id in service_ids:
                self.report(loaded.file, ("id",), "catalog.duplicate_id", id=loaded.model.id)
            service_ids.add(loaded.model.id)
            for org_id, item in self.check_service(loaded, categories, organizations).items():
                resolved.setdefault(org_id, []).append(item)

        tariffs = load_tariffs(self, self.directory, organizations)

        if self.problems or county_model is None or organizations is None or tariffs is None:
            return None
        return Catalog(
            county_model,
            list(organizations.values()),
            [loaded.model for loaded in loaded_services],
            resolved,
            tariffs,
        )


_LOADED: dict[str, Catalog] = {}
"""Catalogs that loaded cleanly, by a digest of their files' names and bytes (a few at most)."""
_LOADED_MAX = 4


def _digest(directory: Path) -> str | None:
    """A digest of every YAML file's relative name and bytes: equal folders load to equal catalogs."""
    digest = hashlib.sha256()
    try:
        files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
        for path in files:
            digest.update(path.relative_to(directory).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    except OSError:
        return None
    return digest.hexdigest()


def check_catalog(directory: Path, cache_dir: Path | None = None) -> tuple[Catalog | None, list[Problem]]:
    """Load ``directory`` and return the catalog (None when anything is wrong) and every problem, sorted.

    Parsing with line numbers costs about a second; a folder whose files are byte for byte the same as one
    already loaded cleanly (a restart, a reload without edits, a test's copy) reuses that catalog: from this
    process's memory, or from ``cache_dir`` (:func:`_read_cached`) when another process of the same code left it
    there, so a restart does not parse again.
    """
    key = _digest(directory)
    if key is not None and key in _LOADED:
        return _LOADED[key], []
    cached = _read_cached(cache_dir, key) if cache_dir is not None and key is not None else None
    if cached is not None and key is not None:
        _remember(key, cached)
        return cached, []
    loader = _Loader(directory)
    catalog = loader.run()
    if catalog is not None and key is not None:
        _remember(key, catalog)
        if cache_dir is not None:
            _write_cached(cache_dir, key, catalog)
    return catalog, sorted(loader.problems, key=Problem.sort_key)


def _remember(key: str, catalog: Catalog) -> None:
    if len(_LOADED) >= _LOADED_MAX:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = catalog


@functools.cache
def _code_digest() -> str:
    """A digest of the catalog package's source and the Python version: a cached catalog is only read back by the
    same code that wrote it."""
    digest = hashlib.sha256(sys.version.encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cache_file(cache_dir: Path, key: str) -> Path:
    name = hashlib.sha256(f"{key}:{_code_digest()}".encode()).hexdigest()[:32]
    return cache_dir / f"{_CACHE_PREFIX}{name}.pickle"


def _read_cached(cache_dir: Path, key: str) -> Catalog | None:
    """The catalog a clean load of the same files by the same code left in ``cache_dir``, if any.

    It is a pickle, read only from Miz's own folder (``MIZ_CACHE_DIR``, as trusted as the database next to it):
    whoever can write there can change the database too. Anything wrong with it means parsing again.
    """
    path = _cache_file(cache_dir, key)
    try:
        with path.open("rb") as file:
            catalog = pickle.load(file)  # Miz's own file, see above
    except FileNotFoundError:
        return None
    except Exception:
        logger.warning(
            "catalog: the cached catalog %s could not be read; parsing the files", path, exc_info=True
        )
        return None
    return catalog if isinstance(catalog, Catalog) else None


def _write_cached(cache_dir: Path, key: str, catalog: Catalog) -> None:
    """Leave the cleanly loaded ``catalog`` in ``cache_dir`` for the next start (replacing older ones)."""
    path = _cache_file(cache_dir, key)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob(f"{_CACHE_PREFIX}*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(catalog, protocol=pickle.HIGHEST_PROTOCOL))
        partial.replace(path)  # whole or not there: a reader never sees half a file
    except Exception:
        logger.warning("catalog: could not cache the parsed catalog in %s", cache_dir, exc_info=True)


def load_catalog(directory: Path, cache_dir: Path | None = None) -> Catalog:
    """Load and check the catalog folder ``directory``; raises ``CatalogError`` listing every problem."""
    catalog, problems = check_catalog(directory, cache_dir)
    if catalog is None:
        raise CatalogError(problems)
    return catalog


class CatalogHolder:
    """Keeps the catalog in service; a reload swaps in a new one only when the folder loads cleanly.

    Handlers read ``holder.catalog`` for each update, so a reload takes effect at once, and a broken edit
    never takes the service down: the previous catalog stays in place and the problems are returned.
    """

    def __init__(
        self, directory: Path, catalog: Catalog | None = None, cache_dir: Path | None = None
    ) -> None:
        """Hold ``catalog``, or load ``directory`` now (raising ``CatalogError`` if it is broken); a clean load is
        cached in ``cache_dir`` for the next start (:func:`check_catalog`)."""
        self.directory = directory
        self.cache_dir = cache_dir
        self._catalog = catalog if catalog is not None else load_catalog(directory, cache_dir)

    @property
    def catalog(self) -> Catalog:
        """The catalog in service now."""
        return self._catalog

    def reload(self) -> list[Problem]:
        """Load the folder again; on success swap it in and return ``[]``, else keep the old one and return the problems."""
        catalog, problems = check_catalog(self.directory, self.cache_dir)
        if catalog is not None:
            self._catalog = catalog
            return []
        return problems
