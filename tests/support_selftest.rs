//! Tests of the test helpers themselves (the parts that need no external tool): the HTTP
//! response reader, `/proc` parsing, the `--help` parser and the tool-lookup decision.

mod support;

use std::ffi::OsStr;

use support::http::read_response;
use support::tools::{Lookup, ci_value_means_ci, lookup};
use support::triton_help::parse_help_flags;
use support::tritonserver::{
    descendants, listening_sockets, metrics_enabled, parse_proc_addr, stat_fields,
};

#[test]
fn http_reader_handles_content_length_chunked_and_truncation() {
    let raw = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
    let r = read_response(&raw[..], false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (403, "hello"));
    assert_eq!(r.header("X-a"), Some("b"));

    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
    assert_eq!(read_response(&raw[..], false).unwrap().text(), "abcde");

    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
    assert!(read_response(&raw[..], false).is_err());
    assert!(read_response(&b"SSH-2.0-x\r\n\r\n"[..], false).is_err());
}

#[test]
fn proc_net_addresses_parse_v4_v6_and_mapped() {
    assert_eq!(
        parse_proc_addr("0100007F:4650"),
        Some("127.0.0.1:18000".parse().unwrap())
    );
    // ::ffff:127.0.0.1 as the kernel prints it (how gRPC's listener shows up)
    assert_eq!(
        parse_proc_addr("0000000000000000FFFF00000100007F:4651"),
        Some("127.0.0.1:18001".parse().unwrap())
    );
    assert_eq!(
        parse_proc_addr("00000000000000000000000000000000:1F41"),
        Some("[::]:8001".parse().unwrap())
    );
    assert_eq!(parse_proc_addr("zz:1"), None);
}

#[test]
fn proc_readers_see_this_process() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mine = listening_sockets(std::process::id()).unwrap();
    assert!(
        mine.contains(&listener.local_addr().unwrap()),
        "{port}: {mine:?}"
    );

    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    assert!(descendants(std::process::id()).contains(&child.id()));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn stat_fields_survive_odd_command_names() {
    assert_eq!(stat_fields("42 (a) b (c)) S 7 42 42 0 -1"), Some(("S", 7)));
    assert_eq!(stat_fields("garbage"), None);
}

#[test]
fn help_parser_reads_sections_values_and_descriptions() {
    let help = "Usage: tritonserver [options]\n  --help\n\tPrint usage\n\nHTTP:\n  --allow-http <boolean>\n\tAllow the server\n\tto listen.\n  --http-restricted-api <<string>:<string>=<string>>\n\tSpecify.\n\nModel Repository:\n  --disable-auto-complete-config\n\tIf set.\n";
    let flags = parse_help_flags(help);
    let names: Vec<_> = flags.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "help",
            "allow-http",
            "http-restricted-api",
            "disable-auto-complete-config"
        ]
    );
    assert_eq!(flags[0].section, "");
    assert_eq!(flags[1].section, "HTTP");
    assert_eq!(flags[1].value.as_deref(), Some("<boolean>"));
    assert_eq!(flags[1].description, "Allow the server to listen.");
    assert_eq!(
        flags[2].value.as_deref(),
        Some("<<string>:<string>=<string>>")
    );
    assert_eq!(flags[3].section, "Model Repository");
    assert_eq!(flags[3].value, None);
}

#[test]
fn tool_lookup_skips_locally_and_fails_in_ci() {
    assert!(ci_value_means_ci(Some("true")));
    assert!(ci_value_means_ci(Some("1")));
    assert!(!ci_value_means_ci(Some("false")));
    assert!(!ci_value_means_ci(Some("")));
    assert!(!ci_value_means_ci(None));

    assert!(
        matches!(lookup("TG_X", None, false), Lookup::Skip(m) if m.contains("scripts/test.sh"))
    );
    assert!(matches!(
        lookup("TG_X", Some(OsStr::new("")), false),
        Lookup::Skip(_)
    ));
    assert!(matches!(lookup("TG_X", None, true), Lookup::Fail(m) if m.contains("TG_X is not set")));
    let here = env!("CARGO_MANIFEST_DIR");
    assert_eq!(
        lookup("TG_X", Some(OsStr::new(here)), true),
        Lookup::Found(here.into())
    );
    assert!(matches!(
        lookup("TG_X", Some(OsStr::new("/nonexistent/tg")), false),
        Lookup::Fail(m) if m.contains("does not exist")
    ));
}

/// A started server is waited for until its metrics endpoint is up, unless the flags turn
/// metrics off: a wrong answer here either hangs start-up or races the metrics port.
#[test]
fn metrics_are_expected_unless_a_flag_or_its_prefix_turns_them_off() {
    let words = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert!(metrics_enabled(&words(&["--http-port=1"])));
    assert!(!metrics_enabled(&words(&["--allow-metrics=false"])));
    assert!(!metrics_enabled(&words(&["--allow-metric=OFF"])));
    assert!(!metrics_enabled(&words(&["--allow-m", "0"])));
    assert!(metrics_enabled(&words(&[
        "--allow-metrics=false",
        "--allow-metrics=On"
    ])));
    // Other flags that share a prefix are not it.
    assert!(metrics_enabled(&words(&["--allow-gpu-metrics=false"])));
    assert!(metrics_enabled(&words(&["--allow-=false"])));
}
