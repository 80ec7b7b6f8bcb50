"""The audit at the floor: form packs resolved once per round, the dataset kept out of memory."""

from __future__ import annotations

import pytest

from tests.test_pack_versions import COUNTY_10


@pytest.fixture()
def bureau(monkeypatch, tmp_path):
    folder = tmp_path / "forms"
    (folder / "county").mkdir(parents=True)
    (folder / "county" / "1.0.toml").write_text(COUNTY_10, encoding="utf-8")
    monkeypatch.setenv("XLTOOL_FORMS_DIR", str(folder))
    return folder


def test_within_a_round_a_pack_is_resolved_once_and_afterwards_afresh(bureau):
    from xltool.form.registry import UnknownForm, get_pack, pinned

    with pinned():
        first = get_pack("county")
        (bureau / "county" / "1.0.toml").rename(bureau / "gone.bak")  # the bureau removes it mid-round
        assert get_pack("county") is first  # the round goes on with the packs it started with
        with pytest.raises(UnknownForm):
            get_pack("nosuch")  # an unknown pack is refused inside as outside
    with pytest.raises(UnknownForm):
        get_pack("county")  # the next lookup sees the folder as it is


def test_a_round_does_not_pin_other_threads():
    import threading

    from xltool.form import registry

    seen = []
    with registry.pinned():
        assert registry._PINNED.get() is not None
        thread = threading.Thread(target=lambda: seen.append(registry._PINNED.get()))
        thread.start()
        thread.join()
    assert seen == [None] and registry._PINNED.get() is None  # the web server's other requests resolve afresh


def test_dataset_rows_come_back_exactly_from_their_file_however_often_read():
    from xltool.audit.summary import Rows

    rows = Rows()
    written = [["芦淞区财政局", "430203", "a.xlsx", "通过", 0.1 + 0.2, 12, None, True, "=1+1", ""],
               ["x" * 5000, "", "b.xlsx", "需修改", -1e-7, 2**40, None, False, "", 3.0]]
    for row in written:
        rows.append(row)
    assert len(rows) == 2
    outer = iter(rows)
    assert next(outer) == written[0]
    assert list(rows) == written  # a second reader while the first is halfway
    rows.append(["late", "", "", "", 1.5, 1, None, False, "", ""])
    assert next(outer) == written[1] and len(rows) == 3
    assert [type(v) for v in list(rows)[0]] == [type(v) for v in written[0]]
