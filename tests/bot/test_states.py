"""The form's data as stored between updates: a form saved by an earlier version reads the same."""

from __future__ import annotations

from bot.states import FormData

FILE = {"platform_file_id": "f", "stored_path": "ab/cd.jpg", "kind": "photo"}


def test_a_form_saved_when_a_document_held_one_file_reads_as_a_list_of_files() -> None:
    form = FormData.read({"org": "falavarjan", "svc": "building_permit", "docs": {"deed": FILE}})
    assert form is not None
    assert form.docs == {"deed": [FILE]}
    assert FormData.read(form.stored()) == form, "and is stored in the new shape"


def test_files_of_a_document_keep_their_order() -> None:
    stored = {
        "org": "falavarjan",
        "svc": "building_permit",
        "docs": {"deed": [FILE, {**FILE, "kind": "pdf"}]},
    }
    form = FormData.read(stored)
    assert form is not None
    assert [f["kind"] for f in form.docs["deed"]] == ["photo", "pdf"]
