from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.settings import ConfigError, check_file, load_settings, settings_from_mapping

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "event.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    return str(caught.value)


def test_default_config_is_valid() -> None:
    settings = load_settings(REPO / "config" / "default.toml")
    assert settings.sources[0].type == "demo"
    assert [s.name for s in settings.screens] == ["hall", "scene"]
    assert settings.storage.url == "sqlite:///./livewall.db"
    assert settings.event.timezone == "America/Toronto"


def test_real_event_file_has_no_error_of_its_own() -> None:
    checked = check_file(REPO / "config" / "assises-umq.toml")
    assert checked.problems == ()
    assert checked.settings is not None and len(checked.settings.sources) == 6


def test_minimal_file_gets_documented_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[event]\nname = "X"\n'))
    assert settings.event.languages == ("fr", "en")
    assert settings.moderation.mode == "pre"
    assert settings.server.port == 8000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[event\nname=1", "event.toml: not valid TOML"),
        (
            '[event]\ntimezone = "Mars/Olympus"',
            "event.toml: event.timezone: unknown time zone (use an IANA name such as "
            "America/Toronto) (got 'Mars/Olympus')",
        ),
        (
            '[event]\nlanguages = ["de"]',
            "event.languages: supported languages are 'fr' and 'en' (got ['de'])",
        ),
        (
            '[event]\nhashtags = ["AssisesUMQ", "Assises UMQ"]',
            "event.hashtags: a hashtag is one word of letters, digits and _: 'Assises UMQ' is not",
        ),
        (
            '[event]\nprogram = "javascript:alert(1)"',
            "event.program: must be an http:// or https:// URL, or a file path "
            "(got 'javascript:alert(1)')",
        ),
        ('[server]\nport = "huit mille"', "server.port: Input should be a valid integer"),
        ("[server]\nport = true", "server.port: Input should be a valid integer (got True)"),
        ("[server]\nport = 70000", "server.port: Input should be less than or equal to 65535"),
        (
            '[server]\nhost = "http://0.0.0.0"',
            "server.host: must be an IP address or a host name",
        ),
        (
            '[server]\npublic_url = "https://"',
            "server.public_url: must be an http:// or https:// URL (got 'https://')",
        ),
        ('[moderation]\nmode = "maybe"', "moderation.mode: Input should be 'pre' or 'post'"),
        ('[moderation]\nmdoe = "pre"', "moderation.mdoe: unknown key"),
        (
            '[storage]\nurl = "mysql://x"',
            "storage.url: must start with sqlite:/// or postgresql+psycopg://",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "myspace"',
            "sources[0].type: must be one of bluesky, demo, feed, mastodon, webhook, youtube "
            "(got 'myspace')",
        ),
        ('[[sources]]\nname = "a"', "sources[0].type: Field required (one of bluesky"),
        (
            '[[sources]]\nname = "a"\ntype = "demo"\nevery = 0',
            "sources[0].every: Input should be greater than or equal to 1",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "demo"\nevery = true',
            "sources[0].every: Input should be a valid integer (got True)",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "feed"\nurl = "https://x.example/feed"\n'
            'official = "yes"',
            "sources[0].official: Input should be a valid boolean (got 'yes')",
        ),
        ('[[sources]]\ntype = "demo"', "sources[0].name: Field required"),
        (
            '[[sources]]\nname = "a"\ntype = "demo"\n[[sources]]\nname = "a"\ntype = "demo"',
            "sources[1].name: is already sources[0]'s name (got 'a')",
        ),
        (
            '[[sources]]\nname = "m"\ntype = "mastodon"\ninstance = "ftp://m.example"',
            "sources[0].instance: must be an http:// or https:// URL (got 'ftp://m.example')",
        ),
        (
            '[[sources]]\nname = "f"\ntype = "feed"\nurl = "javascript:alert(1)"',
            "sources[0].url: must be an http:// or https:// URL (got 'javascript:alert(1)')",
        ),
        (
            '[[sources]]\nname = "m"\ntype = "mastodon"\ninstance = "https://m.example"\n'
            'hashtags = ["#Assises UMQ"]',
            "sources[0].hashtags: a hashtag is one word of letters, digits and _",
        ),
        (
            '[[sources]]\nname = "m"\ntype = "mastodon"\ninstance = "https://m.example"\n'
            "streaming = true",
            "sources[0].streaming: streaming requires token_env",
        ),
        (
            '[[sources]]\nname = "y"\ntype = "youtube"\nchannel_id = "@umq"',
            "sources[0].channel_id: must start with UC, then 22 letters",
        ),
        (
            '[[sources]]\nname = "w"\ntype = "webhook"\nsecret_env = "lowercase_name"',
            "sources[0].secret_env: must be the name of an environment variable in capitals",
        ),
        (
            '[[screens]]\nname = "a"\n[[screens]]\nname = "a"',
            "event.toml: screens[1].name: is already screens[0]'s name (got 'a')",
        ),
        (
            '[[screens]]\nname = "a"\nlayout = "carousel"',
            "screens[0].layout: Input should be 'grid', 'spotlight' or 'ticker'",
        ),
        (
            '[[screens]]\nname = "a"\nrotate_seconds = true',
            "screens[0].rotate_seconds: Input should be a valid integer (got True)",
        ),
        (
            '[[screens]]\nname = "a"\nqr_url = "javascript:alert(1)"',
            "screens[0].qr_url: must be an http:// or https:// URL (got 'javascript:alert(1)')",
        ),
        (
            '[[screens]]\nname = "a"\nqr_url = "/wall/a"',
            "screens[0].qr_url: must be an http:// or https:// URL (got '/wall/a')",
        ),
        (
            '[[screens]]\nname = "a"\nembed_origins = ["https://ok.example", "https://umq.qc.ca/x"]',
            "screens[0].embed_origins[1]: is not an origin: https://host or https://host:port, "
            "with no path (got 'https://umq.qc.ca/x')",
        ),
        (
            '[[screens]]\nname = "a"\nembed_origins = ["\'self\'"]',
            "screens[0].embed_origins[0]: is not an origin",
        ),
        (
            '[[screens]]\nname = "a"\nembed_origins = ["https://umq.qc.ca; script-src *"]',
            "screens[0].embed_origins[0]: is not an origin",
        ),
        (
            '[[screens]]\nname = "a"\nembed_origins = ["ftp://umq.qc.ca"]',
            "screens[0].embed_origins[0]: is not an origin",
        ),
        (
            '[[screens]]\nname = "a"\nlanguages = ["French"]',
            "screens[0].languages[0]: is not a language code (two or three lowercase letters",
        ),
        (
            '[[screens]]\nname = "a"\nhashtags = ["deux mots"]',
            "screens[0].hashtags: a hashtag is one word",
        ),
        (
            '[[sources]]\nname = "demo"\ntype = "demo"\n[[screens]]\nname = "a"\n'
            'sources = ["demo", "mastodon"]',
            "screens[0].sources[1]: is not the name of a source (known: demo) (got 'mastodon')",
        ),
        (
            '[moderation]\nblocked_words = { fr = "nope.txt" }',
            "moderation.blocked_words.fr: file not found next to the configuration file "
            "(got 'nope.txt')",
        ),
        ('[digest]\nsend_at = "dix-huit heures"', "digest.send_at:"),
        (
            '[digest]\nrecipients = ["membres@example.org", "membres"]',
            "digest.recipients[1]: is not an email address (name@domain, without a display "
            "name) (got 'membres')",
        ),
        (
            '[digest]\nrecipients = ["a@example.org, b@example.org"]',
            "digest.recipients[0]: is not an email address",
        ),
        ('[digest]\nrecipients = "a@example.org"', "digest.recipients: Input should be a valid"),
        (
            '[digest]\nsender = "UMQ <assises@example.org>"',
            "digest.sender: is not an email address",
        ),
        (
            '[digest]\nsmtp_url = "http://smtp.example.org"',
            "digest.smtp_url: must be smtp://host:port or smtps://host:port "
            "(got 'http://smtp.example.org')",
        ),
        ('[digest]\nsmtp_url = "smtp://"', "digest.smtp_url: must be smtp://host:port"),
        (
            '[digest]\nsmtp_url = "smtp://smtp.example.org:99999"',
            "digest.smtp_url: has a port that is not a number from 1 to 65535",
        ),
        ("[digest]\ncatch_up_hours = true", "digest.catch_up_hours: Input should be a valid"),
        (
            '[[screens]]\nname = "sw.js"',
            "screens[0].name: must be 1 to 63 lowercase letters, digits, '-' or '_'",
        ),
        (
            '[[sources]]\nname = "Mon flux"\ntype = "demo"',
            "sources[0].name: must be 1 to 63 lowercase letters",
        ),
        (
            '[metrics]\nallow = ["127.0.0.1/32", "le bureau"]',
            "metrics.allow[1]: is not an IP network: an address or address/prefix, such as "
            "10.0.0.0/8 or ::1/128 (got 'le bureau')",
        ),
        (
            '[logging]\nformat = "xml"',
            "logging.format: Input should be 'text' or 'json' (got 'xml')",
        ),
        ('[logging]\nlevel = "loud"', "logging.level: Input should be 'debug', 'info'"),
        (
            '[event]\nlanguages = ["fr"]\n[digest]\nrecipients_en = ["a@example.org"]',
            'digest.recipients_en: is set but [event] languages has no "en"',
        ),
    ],
)
def test_each_kind_of_error_names_file_key_problem_and_value(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(str(tmp_path / "event.toml"))
    assert expected in message


def test_every_error_of_a_file_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[server]
port = true
[[sources]]
name = "m"
type = "mastodon"
instance = "https://m.example"
streaming = true
every = 1
[[screens]]
name = "hall"
qr_url = "javascript:alert(1)"
embed_origins = ["https://umq.qc.ca/page"]
sources = ["nowhere"]
[[screens]]
name = "hall"
[moderation]
blocked_words = { fr = "absent.txt" }
[digest]
recipients = ["membres"]
smtp_url = "ftp://smtp.example.org"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    found = {(p.file, p.key, p.got) for p in caught.value.problems}
    file = str(path)
    assert found == {
        (file, "server.port", "True"),
        (file, "sources[0].every", "1"),
        (file, "sources[0].streaming", "True"),
        (file, "screens[0].qr_url", "'javascript:alert(1)'"),
        (file, "screens[0].embed_origins[0]", "'https://umq.qc.ca/page'"),
        (file, "screens[0].sources[0]", "'nowhere'"),
        (file, "screens[1].name", "'hall'"),
        (file, "moderation.blocked_words.fr", "'absent.txt'"),
        (file, "digest.recipients[0]", "'membres'"),
        (file, "digest.smtp_url", "'ftp://smtp.example.org'"),
    }
    assert len(str(caught.value).splitlines()) == 10


def test_a_secret_pasted_in_place_of_its_variable_is_never_printed(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        '[[sources]]\nname = "b"\ntype = "bluesky"\nhandle = "umq.bsky.social"\n'
        'app_password_env = "abcd-efgh-ijkl-mnop"',
    )
    assert "sources[0].app_password_env: must be the name of an environment variable" in message
    assert "abcd" not in message


def test_passwords_in_printed_urls_are_hidden(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        '[storage]\nurl = "mysql://wall:s3cret@db/wall"\n'
        '[digest]\nsmtp_url = "smtp://umq:hunter2@smtp.example.org"',
    )
    assert "storage.url: must start with" in message
    assert "(got 'mysql://wall:***@db/wall')" in message
    assert "digest.smtp_url: must not hold a login: set LIVEWALL_SMTP_USER" in message
    assert "s3cret" not in message and "hunter2" not in message


def test_values_people_write_are_accepted_and_normalised(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
[event]
hashtags = ["#AssisesUMQ", "Municipalité_2027"]
[server]
host = "::"
public_url = "https://mur.example.org/"
[[screens]]
name = "hall"
embed_origins = ["https://www.umq.qc.ca/", "http://localhost:8080"]
qr_url = "https://umq.qc.ca/assises?utm=mur"
languages = ["fr", "en"]
[digest]
recipients = ["membres.assises+mur@example.org"]
sender = "livewall@localhost"
smtp_url = "smtps://smtp.example.org:465"
""",
        )
    )
    assert settings.event.hashtags == ("AssisesUMQ", "Municipalité_2027")
    assert settings.server.public_url == "https://mur.example.org"
    assert settings.screens[0].embed_origins == ("https://www.umq.qc.ca", "http://localhost:8080")
    assert settings.digest.smtp_url == "smtps://smtp.example.org:465"


def test_warnings_do_not_stop_the_file_from_loading(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[event]\nprogram = "programme.ics"\n[digest]\nrecipients = ["membres@example.org"]',
    )
    checked = check_file(path)
    assert checked.settings is not None and checked.errors == ()
    assert [(p.key, p.severity) for p in checked.problems] == [
        ("event.program", "warning"),
        ("digest.smtp_url", "warning"),
    ]
    assert "digest has no sessions (got 'programme.ics')" in str(checked.problems[0])
    assert "is not set: the digest has recipients but is never emailed" in str(checked.problems[1])
    load_settings(path)  # does not raise


def test_the_cheapest_password_cost_is_a_warning(tmp_path: Path) -> None:
    checked = check_file(write(tmp_path, '[console]\npassword_hashing = "cheapest"'))
    assert checked.settings is not None and checked.errors == ()
    assert [(p.key, p.severity) for p in checked.problems] == [
        ("console.password_hashing", "warning")
    ]
    assert "for test suites" in str(checked.problems[0])


def test_a_word_list_that_is_not_text_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "fr.txt").write_bytes(b"\xff\xfe\x00mot")
    message = error_of(tmp_path, '[moderation]\nblocked_words = { fr = "fr.txt" }')
    assert "moderation.blocked_words.fr: cannot be read as UTF-8 text" in message


def test_errors_come_before_warnings(tmp_path: Path) -> None:
    checked = check_file(write(tmp_path, '[event]\nprogram = "absent.ics"\n[server]\nport = 0'))
    assert [p.severity for p in checked.problems] == ["error", "warning"]
    assert checked.settings is None and checked.draft is not None


def test_missing_file(tmp_path: Path) -> None:
    assert error_of_path(tmp_path / "absent.toml").endswith("absent.toml: file not found")


def error_of_path(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


def test_event_start_is_a_day_or_a_moment_in_the_event_time_zone(tmp_path: Path) -> None:
    def start(value: str) -> str:
        settings = load_settings(write(tmp_path, f"[event]\nstart = {value}\n"))
        assert settings.event.start_utc is not None
        return settings.event.start_utc.isoformat()

    assert start("2026-11-25T08:00:00") == "2026-11-25T13:00:00+00:00"
    assert start("2026-11-25") == "2026-11-25T05:00:00+00:00"
    assert start("2026-11-25T08:00:00+01:00") == "2026-11-25T07:00:00+00:00"
    assert load_settings(write(tmp_path, "[event]\n")).event.start_utc is None
    assert error_of(tmp_path, "[event]\nstart = 8\n") == (
        f"{tmp_path / 'event.toml'}: event.start: must be a date or a date and time, "
        "such as 2026-11-25T08:00 (got 8)"
    )


def test_public_links_follow_where_the_server_listens_unless_set() -> None:
    derived = settings_from_mapping({"server": {"port": 8301}})
    assert derived.server.public_url == "http://127.0.0.1:8301"  # digest emails, feed, QR
    moved = derived.listening_on("127.0.0.1", 8302)  # `livewall run --port 8302`
    assert (moved.server.public_url, moved.server.port) == ("http://127.0.0.1:8302", 8302)
    assert settings_from_mapping({"server": {"host": "::1"}}).server.public_url == (
        "http://[::1]:8000"
    )
    fixed = settings_from_mapping({"server": {"public_url": "https://mur.example.org"}})
    assert fixed.listening_on("0.0.0.0", 9000).server.public_url == "https://mur.example.org"
