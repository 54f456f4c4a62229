"""The throwaway PostgreSQL server (pos.testing.postgres): databases of its own, and nothing left once stopped."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pos.testing.postgres import PostgresServer, process_alive


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="utf-8").rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def processes_naming(text: str) -> set[int]:
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.add(int(cmdline.parent.name))
        except OSError:
            continue
    return {pid for pid in found if process_alive(pid)}


def test_two_databases_of_its_own_and_nothing_left_once_stopped() -> None:
    pg = PostgresServer(fast=True)
    try:
        pg.start()
        assert pg.url == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
        folder, data_dir, postmaster = pg.directory, str(pg.data_dir), pg.pid
        assert folder is not None and postmaster is not None and process_alive(postmaster)
        workers = children(postmaster)
        assert workers  # checkpointer, walwriter, … (and the backends serving us, while connected)

        first, second = pg.create_database(), pg.create_database("till_two")
        assert second == f"postgresql://postgres@127.0.0.1:{pg.port}/till_two"
        assert first != second
        for url, code in ((first, "AB12-CD34"), (second, "ZZ99-YY88")):
            with psycopg.connect(url) as conn:
                conn.execute("CREATE TABLE voucher (code text PRIMARY KEY, cents integer NOT NULL)")
                conn.execute("INSERT INTO voucher VALUES (%s, %s)", (code, 1500))
        with psycopg.connect(first) as conn:
            assert conn.execute("SELECT code, cents FROM voucher").fetchall() == [("AB12-CD34", 1500)]
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
        with psycopg.connect(second) as conn:
            assert conn.execute("SELECT code, cents FROM voucher").fetchall() == [("ZZ99-YY88", 1500)]

        open_conn = psycopg.connect(second)  # dropping closes it: WITH (FORCE)
        pg.drop_database("till_two")
        open_conn.close()
        with pytest.raises(psycopg.OperationalError, match="does not exist"):
            psycopg.connect(second).close()
    finally:
        pg.stop()

    assert not folder.exists()
    assert not process_alive(postmaster)
    assert {pid for pid in workers if process_alive(pid)} == set()
    assert processes_naming(data_dir) == set()
    pg.stop()  # a second stop is harmless
    with pytest.raises(RuntimeError, match="not started"):
        _ = pg.url


def test_a_folder_that_is_not_empty_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(RuntimeError, match="not empty"):
        PostgresServer(tmp_path).start()
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"
