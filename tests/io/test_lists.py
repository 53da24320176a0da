"""Domain and URL list reading: text, CSV with headers, headerless CSV, row alignment."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from nightjar.errors import InputError
from nightjar.io import read_table


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_text_domain_list_keeps_every_line_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "d.txt", "google.com\n\nEXAMPLE.COM.\nqxkzjvbwpy.net \nlocalhost\n")
    table, report = read_table(path)
    assert report.format == "domain_list_text"
    assert table.column("domain").to_pylist() == ["google.com", None, "EXAMPLE.COM.", "qxkzjvbwpy.net", "localhost"]
    assert (report.read, report.parsed, report.rejected) == (5, 5, 0)


def test_text_url_list(tmp_path: Path) -> None:
    path = write(tmp_path, "u.txt", "http://a.com/x\nhttps://b.org/login?x=1\nexample.com/login\nn/a\n")
    table, report = read_table(path)
    assert report.format == "url_list_text"
    assert table.num_rows == 4
    assert table.column("url").to_pylist()[3] == "n/a"


def test_csv_with_domain_header_keeps_other_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "id,domain,family\n1,abc.com,benign\n2,xyz.net,zeus\n")
    table, _ = read_table(path)
    assert table.column_names[0] == "domain"
    assert table.to_pylist()[1] == {"domain": "xyz.net", "id": "2", "family": "zeus"}


def test_csv_prefers_ecs_name_and_url_full(tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", "url.full,label\nhttp://a.com/,0\n")
    table, report = read_table(path)
    assert report.format == "url_list_csv"
    assert table.column("url").to_pylist() == ["http://a.com/"]


def test_headerless_ranked_csv_gzip(tmp_path: Path) -> None:
    path = tmp_path / "top.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("".join(f"{i},site{i}.com\n" for i in range(1, 101)))
    table, report = read_table(path)
    assert report.format == "domain_list_headerless"
    assert table.num_rows == 100
    assert table.column("domain")[0].as_py() == "site1.com"


def test_csv_row_with_wrong_width_is_rejected_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "domain,label\na.com,0\nb.com,1,extra\nc.com,0\n")
    table, report = read_table(path)
    assert table.num_rows == 2
    assert (report.read, report.parsed, report.rejected) == (3, 2, 1)
    assert str(report.rejections[0].source).endswith("d.csv:3")


def test_truncated_gzip_keeps_rows_before_break(tmp_path: Path) -> None:
    path = tmp_path / "d.txt.gz"
    data = gzip.compress("".join(f"host{i}.example.com\n" for i in range(20000)).encode())
    path.write_bytes(data[: len(data) // 2])
    table, report = read_table(path)
    assert report.truncated
    assert 0 < table.num_rows < 20000
    assert report.balanced


def test_binary_file_is_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError, match="blob.bin"):
        read_table(path)


def test_empty_file_is_fine(tmp_path: Path) -> None:
    table, report = read_table(write(tmp_path, "empty.txt", ""))
    assert table.num_rows == 0 and report.read == 0


@pytest.mark.parametrize(
    ("relative", "rows", "kind_format"),
    [
        ("dga/clicksecurity_alexa100k/alexa_100k.csv", 100_000, "domain_list_headerless"),
        ("dga/clicksecurity_alexa100k/dga_domains.txt", 2_669, "domain_list_text"),
        ("dga/dgarchive_majestic_20k/dgarchive_20k_domains.csv", 20_000, "domain_list_csv"),
        ("dga/andrewaeva_generated/dds-malicious-domains.csv", 5_000, "domain_list_headerless"),
        ("url/openphish_feed_history/openphish_feed_history_until_2025.csv.gz", 259_646, "url_list_csv"),
        ("url/esdaung_2021_part/esdaung_imbal_part.csv.gz", 38_647, "url_list_csv"),
        ("url/hannousse_2021_mendeley_half/dataset_phishing_half.csv.gz", 5_834, "url_list_csv"),
        ("url/cao2019_benign_urls3k/cao2019_benign_urls.csv.gz", 3_000, "url_list_csv"),
    ],
)
def test_shared_lists_read_with_expected_counts(shared_data: Path, relative: str, rows: int, kind_format: str) -> None:
    table, report = read_table(shared_data / relative)
    assert report.format == kind_format
    assert table.num_rows == rows
    assert report.rejected == 0


def test_csv_with_a_hostname_column_of_short_names_is_not_a_domain_list(tmp_path: Path) -> None:
    path = write(tmp_path, "runs.csv", '"Technique","Hostname","Username"\n"T1048","Server002","admin"\n"T1049","Server003","admin"\n')
    with pytest.raises(InputError, match="runs.csv"):
        read_table(path)


def test_context_columns_of_a_mail_log_get_ecs_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mail.csv",
        "timestamp,recipient,sender,url\n2026-03-02T09:47:00Z,ann@corp.example,x@evil.example,http://a.com/login\n",
    )
    table, _ = read_table(path)
    row = table.to_pylist()[0]
    assert row["url"] == "http://a.com/login"
    assert row["email.to.address"] == "ann@corp.example"
    assert row["@timestamp"].isoformat() == "2026-03-02T09:47:00+00:00"


def test_a_time_column_that_is_not_iso_keeps_its_name(tmp_path: Path) -> None:
    table, _ = read_table(write(tmp_path, "u.csv", "time,url\nyesterday,http://a.com/\n"))
    assert table.column_names == ["url", "time"]
