"""Hugging Face dataset adapters: each turns one source dataset's rows into the example schema.

An adapter knows its dataset's columns, how languages are laid out (one config per language, or a language
column) and how a row becomes chat turns and a reference. ``read_split`` loads one split of a task through
``datasets.load_dataset`` (a hub id at a pinned revision, or a local directory in the same layout), maps it,
and records what was read; ``sample_items`` and ``holdout_items`` draw the seeded per-language samples.
"""

from __future__ import annotations

import random
import re
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from xlt.io import sha256_file
from xlt.numbers import extract_number
from xlt.schema import EXAMPLE_SCHEMA, MESSAGE

# XL-Sum's configs that have an ISO 639-1 code (pidgin and chinese_traditional have none; zh is simplified).
XLSUM_CONFIGS = {
    "am": "amharic", "ar": "arabic", "az": "azerbaijani", "bn": "bengali", "my": "burmese",
    "zh": "chinese_simplified", "en": "english", "fr": "french", "gu": "gujarati", "ha": "hausa",
    "hi": "hindi", "ig": "igbo", "id": "indonesian", "ja": "japanese", "rn": "kirundi", "ko": "korean",
    "ky": "kyrgyz", "mr": "marathi", "ne": "nepali", "om": "oromo", "ps": "pashto", "fa": "persian",
    "pt": "portuguese", "pa": "punjabi", "ru": "russian", "gd": "scottish_gaelic", "sr": "serbian_cyrillic",
    "si": "sinhala", "so": "somali", "es": "spanish", "sw": "swahili", "ta": "tamil", "te": "telugu",
    "th": "thai", "ti": "tigrinya", "tr": "turkish", "uk": "ukrainian", "ur": "urdu", "uz": "uzbek",
    "vi": "vietnamese", "cy": "welsh", "yo": "yoruba",
}
MGSM_CONFIGS = {code: code for code in ("en", "es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")}
# The labels that open MGSM's exemplars (its train split) and never its test items: (question, answer), each
# followed by ":" or "：" (google-research/url-nlp mgsm/exemplars.py, the source of juletxara/mgsm's train split;
# lm-evaluation-harness's mgsm/utils.py lists them too, with small spacing differences).
MGSM_EXEMPLAR_LABELS = {
    "bn": ("প্রশ্ন", "ধাপে ধাপে উত্তর"), "de": ("Frage", "Schritt-für-Schritt-Antwort"),
    "en": ("Question", "Step-by-Step Answer"), "es": ("Pregunta", "Respuesta paso a paso"),
    "fr": ("Question", "Réponse étape par étape"), "ja": ("問題", "ステップごとの答え"),
    "ru": ("Задача", "Пошаговое решение"), "sw": ("Swali", "Jibu la Hatua kwa Hatua"),
    "te": ("ప్రశ్న", "దశలవారీగా సమాధానం"), "th": ("โจทย์", "คำตอบทีละขั้นตอน"), "zh": ("问题", "逐步解答"),
}
# Aya's Dolly translations come in two scripts for Chinese (Hans, Hant) and Arabic (Arab, Latn): the ISO 15924
# script read where a split's `scripts` names none.
AYA_DEFAULT_SCRIPTS = {"zh": "Hans", "ar": "Arab"}
# ISO 639-3 (and the individual codes of macrolanguages that Aya uses, e.g. arb, cmn) -> ISO 639-1.
ISO_639_3_TO_1 = {
    "afr": "af", "amh": "am", "ara": "ar", "arb": "ar", "aze": "az", "azj": "az", "bel": "be", "ben": "bn",
    "bul": "bg", "cat": "ca", "ces": "cs", "cmn": "zh", "cym": "cy", "dan": "da", "deu": "de", "ell": "el",
    "eng": "en", "est": "et", "ekk": "et", "eus": "eu", "fas": "fa", "pes": "fa", "fin": "fi", "fra": "fr",
    "gle": "ga", "glg": "gl", "guj": "gu", "hau": "ha", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu",
    "hye": "hy", "ibo": "ig", "ind": "id", "isl": "is", "ita": "it", "jav": "jv", "jpn": "ja", "kan": "kn",
    "kat": "ka", "kaz": "kk", "khm": "km", "kir": "ky", "kor": "ko", "lao": "lo", "lav": "lv", "lvs": "lv",
    "lit": "lt", "mal": "ml", "mar": "mr", "mkd": "mk", "mlt": "mt", "mon": "mn", "khk": "mn", "msa": "ms",
    "zsm": "ms", "mya": "my", "nep": "ne", "npi": "ne", "nld": "nl", "nob": "nb", "nor": "no", "pan": "pa",
    "pol": "pl", "por": "pt", "pus": "ps", "pbt": "ps", "ron": "ro", "rus": "ru", "sin": "si", "slk": "sk",
    "slv": "sl", "som": "so", "spa": "es", "sqi": "sq", "als": "sq", "srp": "sr", "swa": "sw", "swh": "sw",
    "swe": "sv", "tam": "ta", "tel": "te", "tgk": "tg", "tha": "th", "tur": "tr", "ukr": "uk", "urd": "ur",
    "uzb": "uz", "uzn": "uz", "vie": "vi", "xho": "xh", "yor": "yo", "zho": "zh", "zul": "zu",
}
CHAT_ID_FIELDS = ("id", "prompt_id")
CHAT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
              "bard": "assistant", "bing": "assistant", "model": "assistant", "system": "system"}
_HUB_FILE = re.compile(r"^hf://datasets/(?P<repo>[^@]+)@(?P<revision>[^/]+)/(?P<path>.+)$")
_PLAIN_NUMBER = re.compile(r"^[-+−]?\d[\d,.\s]*$")


@dataclass
class SplitRead:
    """One split of a task as read: its examples (schema columns but split) and the record of what was read."""

    frame: pl.DataFrame
    sources: list[dict[str, Any]]  # one per load_dataset call: config, data_dir, split, files, resolved revision
    dropped: dict[str, int] = field(default_factory=dict)  # rows left out, by reason


@dataclass(frozen=True)
class Adapter:
    fields: tuple[str, ...]  # the dataset fields the adapter reads (besides those the prompt names)
    prompt: str | None  # default user-turn template over the fields; None where the rows carry the turns
    to_rows: Callable[[pl.DataFrame, dict[str, Any]], tuple[pl.DataFrame, dict[str, int]]]
    configs: dict[str, str] | None = None  # ISO 639-1 -> config, where the dataset has one config per language
    language: Callable[[], pl.Expr] | None = None  # a row's ISO 639-1 code, where a column says it
    default_config: str | None = None
    scripts: dict[str, str] | None = None  # lang -> default script, where rows carry a `script` column


# ---- the adapters: dataset frame (renamed to the adapter's field names) -> source_id, lang, messages, reference


def _turns(user: pl.Expr, assistant: pl.Expr) -> pl.Expr:
    return pl.concat_list(pl.struct(role=pl.lit("user"), content=user),
                          pl.struct(role=pl.lit("assistant"), content=assistant)).cast(pl.List(MESSAGE))


def _drop_nulls(frame: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    kept = frame.drop_nulls(columns)
    return kept, ({"null_field": frame.height - kept.height} if kept.height < frame.height else {})


def _xlsum(frame: pl.DataFrame, ctx: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, int]]:
    frame, dropped = _drop_nulls(frame, ["id", "summary", *ctx["prompt_fields"]])
    rows = frame.select(
        source_id=pl.format("xlsum.{}.{}", pl.lit(ctx["lang"]), pl.col("id").cast(pl.String)),
        lang=pl.lit(ctx["lang"]),
        messages=_turns(ctx["user"], pl.col("summary")),
        reference=pl.col("summary"),
    )
    return rows, dropped


def _without_label(column: str, label: str) -> pl.Expr:
    """``column`` without a leading "<label>:" (or "<label>："), however the label's words are spaced (copies
    spell the Russian one "Пошаговоерешение"); other text unchanged."""
    words = r"\s*".join(map(re.escape, label.split()))
    return pl.col(column).str.replace(rf"^\s*{words}\s*[:：]\s*", "")


def _mgsm(frame: pl.DataFrame, ctx: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, int]]:
    # Rows are aligned across languages: the row index is the parallel item.
    frame, dropped = _drop_nulls(frame, ["answer_number", *ctx["prompt_fields"]])
    if ctx["lang"] in MGSM_EXEMPLAR_LABELS:  # exemplar turns read like test turns: "Pregunta: ..." -> "..."
        question, answer = MGSM_EXEMPLAR_LABELS[ctx["lang"]]
        frame = frame.with_columns(_without_label("question", question), _without_label("answer", answer))
    number = pl.col("answer_number")
    if frame.schema["answer_number"].is_float():  # 18.0 -> "18"
        number = number.map_elements(number_text, return_dtype=pl.String)
    number = number.cast(pl.String)
    rows = frame.select(
        source_id=pl.format("mgsm.{}.{}", pl.lit(ctx["split"]), pl.col("row")),
        lang=pl.lit(ctx["lang"]),
        messages=_turns(ctx["user"], pl.coalesce(pl.col("answer").cast(pl.String), number)),
        reference=number,
    )
    return rows, dropped


def number_text(value: float) -> str:
    """A number as a reference string: integers without ".0"."""
    return str(int(value)) if float(value).is_integer() else format(value, ".15g")


def final_number(answer: str) -> str | None:
    """The reference of a chain-of-thought answer: its final number, or None when the final answer is not a number.

    An answer whose last line ends in "...: <answer>" (MetaMathQA's "The answer is: 18", in any language, a
    full-width colon too) must have a plain number there: "\\frac{1}{2}" or "(2, 3)" give None, not a wrong number.
    """
    last_line = next((line for line in reversed(answer.strip().splitlines()) if line.strip()), "")
    if re.search(r"[:：]", last_line):
        tail = re.split(r"[:：]", last_line)[-1].strip().strip("$").strip()
        tail = re.sub(r"^\\boxed\{(.*)\}$", r"\1", tail).rstrip(".。").strip()
        if not _PLAIN_NUMBER.match(tail):
            return None
    value = extract_number(answer)
    return None if value is None else number_text(value)


def _mcot_math(frame: pl.DataFrame, ctx: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, int]]:
    frame, dropped = _drop_nulls(frame, ["answer", *ctx["prompt_fields"]])
    frame = frame.with_columns(reference=pl.col("answer").map_elements(final_number, return_dtype=pl.String))
    missing = frame["reference"].null_count()
    if missing:
        dropped["no_numeric_answer"] = missing
    rows = frame.drop_nulls("reference").select(
        source_id=pl.format("mcot.{}.{}", pl.col("lang"), pl.col("row")),  # the row of the file, all languages
        lang=pl.col("lang"),
        messages=_turns(ctx["user"], pl.col("answer")),
        reference=pl.col("reference"),
    )
    return rows, dropped


def _one_script(frame: pl.DataFrame, chosen: dict[str, str], key: str) -> pl.DataFrame:
    """The rows of ``frame`` in one script per language: ``chosen`` (lang -> script) where it names one.

    Raises ValueError naming ``key`` (the split's `scripts`) when a chosen script is not one the language's rows
    have, or when a language's rows come in several scripts and none is chosen.
    """
    has = {lang: sorted(scripts) for lang, scripts in
           frame.group_by("lang").agg(pl.col("script").unique().drop_nulls()).iter_rows()}
    for lang, script in chosen.items():
        if lang in has and script not in has[lang]:
            raise ValueError(f"{key}.{lang}: {script!r} is not a script of the split's {lang!r} rows "
                             f"(they have {has[lang]})")
    several = {lang: scripts for lang, scripts in has.items() if len(scripts) > 1 and lang not in chosen}
    if several:
        lang, scripts = sorted(several.items())[0]
        raise ValueError(f"{key}: the split's {lang!r} rows come in scripts {scripts}; choose one "
                         f"(e.g. `scripts: {{{lang}: {scripts[0]}}}`)")
    wanted = pl.col("lang").replace_strict(chosen, default=None, return_dtype=pl.String)
    return frame.filter(wanted.is_null() | (pl.col("script") == wanted))


def _aya_dolly(frame: pl.DataFrame, ctx: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, int]]:
    frame, dropped = _drop_nulls(frame, ["source_id", "targets", *ctx["prompt_fields"]])
    one_script = _one_script(frame, ctx["scripts"], ctx["scripts_key"])
    if one_script.height < frame.height:
        dropped["other_script"] = frame.height - one_script.height
    rows = one_script.select(
        # the Dolly item's id: its translations share it
        source_id=pl.format("dolly.{}", pl.col("source_id").cast(pl.String)),
        lang=pl.col("lang"),
        messages=_turns(ctx["user"], pl.col("targets")),
        reference=pl.col("targets"),
    )
    return rows, dropped


def _chat(frame: pl.DataFrame, ctx: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, int]]:
    column = ctx["turns_field"]
    role_key, content_key = ("from", "value") if column == "conversations" else ("role", "content")
    # the item's id: `id` (ShareGPT), `prompt_id` (UltraChat has no `id`), else the row of the split
    ids = next((pl.col(name).cast(pl.String) for name in CHAT_ID_FIELDS if name in frame.columns),
               pl.col("row").cast(pl.String))
    turns = frame.select(
        source_id=pl.format("chat.{}", ids),
        turns=pl.col(column).list.eval(pl.struct(
            role=pl.element().struct.field(role_key).str.to_lowercase().replace_strict(CHAT_ROLES, default=None),
            content=pl.element().struct.field(content_key),
        )),
    ).with_columns(roles=pl.col("turns").list.eval(pl.element().struct.field("role")))
    unknown = pl.col("roles").list.eval(pl.element().is_null()).list.any().fill_null(True)
    # Keep the turns up to and including the last assistant turn (a trailing user turn has no answer).
    last = pl.col("roles").list.len() - 1 - pl.col("roles").list.reverse().list.eval(
        pl.element() == "assistant").list.arg_max()
    has_answer = pl.col("roles").list.contains("assistant").fill_null(False)
    flagged = turns.with_columns(unknown=unknown, has_answer=has_answer)
    dropped = {"unknown_role": flagged.filter("unknown").height,
               "no_assistant_turn": flagged.filter(~pl.col("unknown") & ~pl.col("has_answer")).height}
    rows = flagged.filter(~pl.col("unknown") & pl.col("has_answer")).select(
        "source_id",
        lang=pl.lit(ctx["lang"]),
        messages=pl.col("turns").list.head(last + 1).cast(pl.List(MESSAGE)),
    ).with_columns(reference=pl.col("messages").list.last().struct.field("content"))
    empty = rows.filter(pl.col("reference").is_null()).height
    if empty:
        dropped["null_field"] = empty
    return rows.drop_nulls("reference"), {reason: n for reason, n in dropped.items() if n}


ADAPTERS: dict[str, Adapter] = {
    "xlsum": Adapter(("id", "summary"), "Summarize the following article in one sentence.\n\n{text}", _xlsum,
                     configs=XLSUM_CONFIGS),
    "mgsm": Adapter(("question", "answer", "answer_number"), "{question}", _mgsm, configs=MGSM_CONFIGS),
    "mcot_math": Adapter(("question", "answer", "lang"), "{question}", _mcot_math, language=lambda: pl.col("lang")),
    "aya_dolly": Adapter(("source_id", "inputs", "targets", "language", "script"), "{inputs}", _aya_dolly,
                         language=lambda: pl.col("language").replace_strict(ISO_639_3_TO_1, default=None),
                         default_config="dolly_machine_translated", scripts=AYA_DEFAULT_SCRIPTS),
    "chat": Adapter((), None, _chat),
}


# ---- loading ------------------------------------------------------------------------------------------------


def _template_fields(template: str) -> list[str]:
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"prompt template {template!r}: only plain fields like {{text}} are allowed, "
                             f"not {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
        names.append(name)
    return names


def _render(template: str) -> pl.Expr:
    """The template as a polars expression over the fields' columns ("{{" and "}}" are literal braces)."""
    parts: list[pl.Expr] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name is not None:
            parts.append(pl.col(name).cast(pl.String))
    return pl.concat_str(parts) if parts else pl.lit("")


def _describe(spec: dict[str, Any], config: str | None, split: str) -> str:
    where = f"dataset {spec['dataset']!r}"
    if config:
        where += f" ({'data_dir' if spec.get('config_as_data_dir') else 'config'} {config!r})"
    return f"{where}, split {split!r}, revision {spec.get('revision')!r}"


def _files_read(builder_kwargs: dict[str, Any], split: str) -> tuple[list[dict[str, Any]], str | None]:
    """The data files behind a loaded split, with sha256, and the commit they were read at (None: local)."""
    import datasets
    import huggingface_hub

    try:
        builder = datasets.load_dataset_builder(**builder_kwargs)
        data_files = builder.config.data_files or {}
        paths = [str(path) for name, files in data_files.items() if str(name) == split for path in files]
    except Exception:  # the data was read (e.g. offline from the Arrow cache): only the file list is unknown
        return [], None
    records, commits = [], set()
    for path in sorted(paths):
        hub = _HUB_FILE.match(path)
        if hub is None:
            records.append({"path": path, "sha256": sha256_file(path)})
            continue
        commits.add(hub["revision"])
        # Offline-safe: the hub cache's copy (hub blobs are content-addressed); None when not cached there.
        local = huggingface_hub.try_to_load_from_cache(hub["repo"], hub["path"], revision=hub["revision"],
                                                       repo_type="dataset")
        cached = isinstance(local, str) and Path(local).is_file()
        records.append({"path": path, "sha256": sha256_file(local) if cached else None,
                        "cached": local if cached else None})
    return records, (commits.pop() if len(commits) == 1 else None)


def _load(spec: dict[str, Any], config: str | None, split: str, cache_dir: str | Path | None
          ) -> tuple[pl.DataFrame, dict[str, Any]]:
    """One ``datasets.load_dataset`` call as a polars frame, and the record of what it read."""
    import datasets

    kwargs: dict[str, Any] = {"path": spec["dataset"], "revision": spec.get("revision"),
                              "data_files": spec.get("data_files"),
                              "cache_dir": None if cache_dir is None else str(cache_dir)}
    kwargs["data_dir" if spec.get("config_as_data_dir") else "name"] = config
    try:
        dataset = datasets.load_dataset(**kwargs, split=split)
    except Exception as error:
        raise ValueError(f"could not load {_describe(spec, config, split)}: {type(error).__name__}: {error} "
                         "(check the dataset id/path, config, split and revision (and that the hub is reachable "
                         "or the data is in the cache)") from error
    files, commit = _files_read(kwargs, split)
    record = {"config": config, "config_as_data_dir": bool(spec.get("config_as_data_dir")), "split": split,
              "revision": spec.get("revision"), "resolved_revision": commit, "files": files,
              "rows": dataset.num_rows,
              "arrow_cache": [item["filename"] for item in dataset.cache_files]}
    return dataset.to_polars(), record


def _select_fields(frame: pl.DataFrame, fields: list[str], optional: list[str], spec: dict[str, Any],
                   where: str) -> pl.DataFrame:
    """The dataset's columns renamed to the adapter's field names (``columns`` maps field -> column)."""
    renames = spec.get("columns") or {}
    wanted = {name: renames.get(name, name) for name in fields}
    missing = sorted(column for column in wanted.values() if column not in frame.columns)
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing}; the adapter {spec['adapter']!r} expects "
                         f"{sorted(wanted.values())}, the dataset has {sorted(frame.columns)} "
                         "(map a field to another column with the split's `columns`)")
    for name in optional:
        if renames.get(name, name) in frame.columns:
            wanted[name] = renames.get(name, name)
    return frame.select(pl.col(column).alias(name) for name, column in wanted.items())


def _local_configs(spec: dict[str, Any]) -> set[str] | None:
    """Configs a local directory holds, where its layout says so (one sub-directory per data_dir config)."""
    root = Path(spec["dataset"])
    if root.is_dir() and spec.get("config_as_data_dir"):
        return {path.name for path in root.iterdir() if path.is_dir()}
    return None


def _languages(adapter: Adapter, spec: dict[str, Any], study: list[str], where: str) -> list[str]:
    """The configs' languages to read: the spec's, or every study language the dataset has."""
    assert adapter.configs is not None
    local = _local_configs(spec)
    has = {lang for lang, config in adapter.configs.items() if local is None or config in local}
    asked = spec.get("languages")
    if asked:
        lacking = [lang for lang in asked if lang not in has]
        if lacking:
            raise ValueError(f"{where}: no config for language(s) {lacking}; it has {sorted(has)} "
                             "(drop them from the split's `languages`, or translate them with `translate`)")
        return list(asked)
    return [lang for lang in study if lang in has]


def read_split(task: str, name: str, spec: dict[str, Any], languages: list[str],
               cache_dir: str | Path | None = None) -> SplitRead:
    """Read the study split ``name`` (train, validation, test or exemplars) of ``task`` from ``spec`` (a
    ``hub_split`` config) in the study's ``languages`` (English first): every item, unsampled.

    Raises ValueError naming the dataset, config, split and revision when loading fails, a column is missing, or
    a language asked for is absent; and naming the split's `scripts` key when a script chosen is not in the data.
    """
    adapter = ADAPTERS.get(spec["adapter"])
    if adapter is None:
        raise ValueError(f"unknown adapter {spec['adapter']!r} (one of {sorted(ADAPTERS)})")
    split = spec.get("split") or ("train" if name == "exemplars" else name)
    template = spec.get("prompt") or adapter.prompt
    prompt_fields = _template_fields(template) if template else []
    fields = list(dict.fromkeys([*adapter.fields, *prompt_fields]))
    scripts_key = f"tasks.{task}.data.splits.{name}.scripts"
    if spec.get("scripts") and adapter.scripts is None:
        raise ValueError(f"{scripts_key}: the {spec['adapter']!r} adapter's rows have no script column to choose "
                         "from (drop `scripts`)")
    ctx: dict[str, Any] = {"split": split, "prompt_fields": prompt_fields,
                           "user": _render(template) if template else None,
                           "scripts": {**(adapter.scripts or {}), **(spec.get("scripts") or {})},
                           "scripts_key": scripts_key}
    pieces, sources, dropped = [], [], {}

    def add(frame: pl.DataFrame, **extra: Any) -> None:
        if "row" not in frame.columns:  # the row of the dataset split, before any filter
            frame = frame.with_row_index("row")
        rows, lost = adapter.to_rows(frame, {**ctx, **extra})
        pieces.append(rows)
        for reason, count in lost.items():
            dropped[reason] = dropped.get(reason, 0) + count

    if adapter.configs is not None:  # one config per language
        langs = _languages(adapter, spec, languages, _describe(spec, None, split))
        for lang in langs:
            config = adapter.configs[lang]
            raw, record = _load(spec, config, split, cache_dir)
            sources.append({"language": lang, **record})
            add(_select_fields(raw, fields, [], spec, _describe(spec, config, split)), lang=lang)
    else:
        config = spec.get("config") or adapter.default_config
        raw, record = _load(spec, config, split, cache_dir)
        sources.append(record)
        where = _describe(spec, config, split)
        if spec["adapter"] == "chat":
            renames = spec.get("columns") or {}
            turns = next((field_ for field_ in ("conversations", "messages")
                          if renames.get(field_, field_) in raw.columns), None)
            if turns is None:
                raise ValueError(f"{where}: missing column(s) ['conversations' or 'messages']; the adapter 'chat' "
                                 f"expects one of them, the dataset has {sorted(raw.columns)}")
            langs = [spec.get("language") or languages[0]]
            add(_select_fields(raw, [turns], list(CHAT_ID_FIELDS), spec, where), lang=langs[0], turns_field=turns)
        else:  # a language column
            frame = _select_fields(raw, fields, [], spec, where).with_row_index("row")
            codes = frame.select(adapter.language().meta.root_names()[0]).to_series().cast(pl.String)
            frame = frame.with_columns(lang=adapter.language())
            found = set(frame["lang"].drop_nulls().unique())
            if not found & set(spec.get("languages") or languages):
                unknown = sorted(set(codes.filter(frame["lang"].is_null()).drop_nulls().unique().to_list()))
                raise ValueError(
                    f"{where}: no rows in the study languages {spec.get('languages') or languages}; the language "
                    f"column {codes.name!r} holds {sorted(set(codes.drop_nulls().unique().to_list()))[:12]}"
                    + (f", of which {unknown[:12]} are codes the {spec['adapter']!r} adapter does not know "
                       f"(it reads ISO 639-3 codes such as 'eng' where the dataset has them)" if unknown else ""))
            lacking = [lang for lang in (spec.get("languages") or []) if lang not in found]
            if lacking:
                raise ValueError(f"{where}: no rows in language(s) {lacking}; it has {sorted(found)} (drop them "
                                 "from the split's `languages`, or translate them with `translate`)")
            add(frame.filter(pl.col("lang").is_in(spec.get("languages") or languages)))
    frame = pl.concat(pieces) if pieces else pl.DataFrame(schema={
        name: EXAMPLE_SCHEMA[name] for name in ("source_id", "lang", "messages", "reference")})
    unique = frame.unique(["source_id", "lang"], keep="first", maintain_order=True)
    if unique.height < frame.height:  # e.g. ShareGPT's repeated ids, or one language under two codes
        dropped["duplicate_id"] = frame.height - unique.height
    examples = unique.with_columns(task=pl.lit(task), origin=pl.lit("native")).with_columns(
        id=pl.concat_str(["task", "source_id", "lang"], separator=":"))  # xlt.schema.example_id
    return SplitRead(examples, sources, dropped)


# ---- seeded samples ------------------------------------------------------------------------------------------


def _order(frame: pl.DataFrame, seed: int, key: str) -> pl.DataFrame:
    """``frame`` with column ``rank``: one seeded permutation of all its source_ids, shared by every language
    (so parallel datasets sample the same items in every language)."""
    ids = sorted(frame["source_id"].unique().to_list())
    random.Random(zlib.crc32(f"{key}:{seed}".encode())).shuffle(ids)
    ranks = pl.DataFrame({"source_id": ids, "rank": range(len(ids))}, schema={"source_id": pl.String,
                                                                                "rank": pl.Int64})
    return frame.join(ranks, on="source_id", how="left")


def _first(frame: pl.DataFrame, k: int, where: str) -> pl.DataFrame:
    counts = frame.group_by("lang").len()
    short = {row["lang"]: row["len"] for row in counts.filter(pl.col("len") < k).iter_rows(named=True)}
    if short:
        raise ValueError(f"{where}: fewer than {k} items in language(s) {dict(sorted(short.items()))} "
                         "(lower items_per_language or use another split)")
    return frame.sort("rank").filter(pl.int_range(pl.len()).over("lang") < k)


def sample_items(frame: pl.DataFrame, k: int | None, seed: int, key: str, where: str) -> pl.DataFrame:
    """The first ``k`` items per language in one seeded order (all items when ``k`` is None)."""
    if k is None:
        return frame
    return _first(_order(frame, seed, key), k, where).drop("rank")


def holdout_items(frame: pl.DataFrame, held: int, k: int | None, seed: int, key: str, where: str
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, validation): ``held`` items per language for validation, then ``k`` (default: the rest) for train,
    from one seeded order; no source_id of the validation split is in train, in any language."""
    ordered = _order(frame, seed, key)
    validation = _first(ordered, held, f"{where} (validation from_train)")
    rest = ordered.filter(~pl.col("source_id").is_in(validation["source_id"].unique().implode()))
    train = rest if k is None else _first(rest, k, where)
    return train.drop("rank"), validation.drop("rank")


def as_examples(frame: pl.DataFrame, split: str) -> pl.DataFrame:
    """Schema columns and order, sorted by id; ``split`` is the schema's split (exemplars are train rows)."""
    return frame.with_columns(split=pl.lit(split)).select(list(EXAMPLE_SCHEMA)).cast(dict(EXAMPLE_SCHEMA)).sort("id")
