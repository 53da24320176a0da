"""ECS DNS and URL events as JSON lines, nested or dotted."""

from __future__ import annotations

from pathlib import Path

from nightjar.io import read_table


def test_nested_and_dotted_dns_events_with_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "dns.ndjson"
    path.write_text(
        '{"@timestamp": "2026-03-02T09:00:00Z", "source": {"ip": "10.0.0.5"}, "dns": {"question": {"name": "a.example.com"}}}\n'
        "\n"
        "{broken\n"
        '{"@timestamp": "2026-03-02T09:00:01Z", "source.ip": "10.0.0.6", "dns.question.name": "qxkzjvbwpy.net", "dns.answers": [{"data": "1.2.3.4"}]}\n'
    )
    table, report = read_table(path)
    assert report.format == "ecs_ndjson"
    assert table.column("dns.question.name").to_pylist() == ["a.example.com", "qxkzjvbwpy.net"]
    assert table.column("source.ip").to_pylist() == ["10.0.0.5", "10.0.0.6"]
    assert str(table.schema.field("@timestamp").type) == "timestamp[us, tz=UTC]"
    assert (report.read, report.parsed, report.rejected) == (3, 2, 1)
    assert str(report.rejections[0].source).endswith("dns.ndjson:3")


def test_url_events_get_a_url_column(tmp_path: Path) -> None:
    path = tmp_path / "proxy.ndjson"
    path.write_text('{"url": {"full": "http://a.com/login"}, "user": {"name": "ann"}}\n')
    table, _ = read_table(path)
    assert table.column("url").to_pylist() == ["http://a.com/login"]
    assert table.column("user.name").to_pylist() == ["ann"]


def test_windows_process_events_are_not_claimed(tmp_path: Path) -> None:
    path = tmp_path / "p.ndjson"
    path.write_text('{"event.code": "1", "process.command_line": "cmd.exe /c whoami", "process.executable": "C:\\\\cmd.exe"}\n')
    _, report = read_table(path)
    assert report.format == "windows-json"
