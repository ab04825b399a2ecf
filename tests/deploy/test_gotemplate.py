"""The test renderer behaves like Go templates where the chart relies on it."""

from __future__ import annotations

import pytest

from tests.deploy.gotemplate import TemplateError, render

CONTEXT = {"Values": {"on": True, "off": False, "m": {"b": 2, "a": 1}, "s": "x y", "empty": {}}}


def test_trimming_if_else_and_range_over_a_map_in_key_order() -> None:
    source = "a:\n{{- range $k, $v := .Values.m }}\n  {{ $k }}: {{ $v }}\n{{- end }}\n"
    assert render(source, CONTEXT) == "a:\n  a: 1\n  b: 2\n"
    assert render("{{ if .Values.off }}y{{ else }}n{{ end }}", CONTEXT) == "n"
    assert render("{{ if not .Values.off }}y{{ end }}", CONTEXT) == "y"


def test_functions_and_pipelines() -> None:
    assert render("{{ .Values.s | quote }}", CONTEXT) == '"x y"'
    assert render("k:{{- toYaml .Values.m | nindent 2 }}", CONTEXT) == "k:\n  a: 1\n  b: 2"
    assert render("{{ toYaml .Values.empty }}", CONTEXT) == "{}"
    assert render('{{ .Values.off | default "d" }}', CONTEXT) == "d"


def test_a_missing_value_or_unknown_syntax_fails_loudly() -> None:
    with pytest.raises(TemplateError):
        render("{{ .Values.nope }}", CONTEXT)
    with pytest.raises(TemplateError):
        render('{{ include "x" . }}', CONTEXT)
    with pytest.raises(TemplateError):
        render("{{ if .Values.on }}", CONTEXT)
