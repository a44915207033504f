//! Torch zip archives, `.npz` and `.npy` files, built with Python's zipfile in the layout
//! torch.save writes (torch itself is not installed).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod support;

use std::io::Write;

use tritonguard::repo::classify::Class;
use tritonguard::repo::format::Format;
use tritonguard::repo::scan::{FileScan, FileScanOptions, scan_file};

fn scan(path: &std::path::Path, name: &str) -> FileScan {
    scan_file(path, name, &FileScanOptions::default())
}

fn globals(scan: &FileScan) -> Vec<(String, u64, String, Class)> {
    scan.streams
        .iter()
        .flat_map(|s| {
            s.scan.globals.iter().map(|g| {
                (
                    s.member.clone().unwrap_or_default(),
                    g.offset,
                    g.qualified(),
                    g.class,
                )
            })
        })
        .collect()
}

fn oracle_globals(g: &support::Generated, case: &str, member: &str) -> Vec<(String, u64, String)> {
    support::expected_globals(g.case(case))
        .into_iter()
        .map(|(offset, _, m, n)| (member.to_string(), offset, format!("{m}.{n}")))
        .collect()
}

#[test]
fn stored_torch_archive() {
    let g = support::generated("archive");
    let path = g.torch_zip("torch_data", "stored");
    let s = scan(&path, "model.pt");
    assert_eq!(s.error, None);
    assert_eq!(s.format, Format::TorchZip);
    assert_eq!(
        s.members,
        [
            "archive/data.pkl",
            "archive/byteorder",
            "archive/data/0",
            "archive/data/1",
            "archive/version",
            "archive/.data/serialization_id"
        ]
    );
    // Only data.pkl is a pickle; the storages are raw bytes and are not read.
    assert_eq!(s.streams.len(), 1);
    let stream = &s.streams[0];
    assert_eq!(stream.member.as_deref(), Some("archive/data.pkl"));
    // torch aligns member data on 64 bytes; offsets inside the member map to the file.
    let data_offset = stream.file_offset.unwrap();
    assert_eq!(data_offset % 64, 0);
    let file = std::fs::read(&path).unwrap();
    assert_eq!(
        &file[usize::try_from(data_offset).unwrap()..][..2],
        b"\x80\x02"
    );
    let found: Vec<(String, u64, String)> = globals(&s)
        .into_iter()
        .map(|(m, o, q, class)| {
            assert_eq!(class, Class::Safe, "{q}");
            (m, o, q)
        })
        .collect();
    assert_eq!(found, oracle_globals(g, "torch_data", "archive/data.pkl"));
    assert_eq!(
        found.iter().map(|f| f.2.as_str()).collect::<Vec<_>>(),
        [
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2",
            "torch.FloatStorage"
        ]
    );
    // Two storages, referenced by persistent id.
    assert_eq!(stream.scan.persistent_ids, 2);
    // Offsets in the member map to the file: each global's opcode byte is where it says.
    for g in &stream.scan.globals {
        let at = usize::try_from(stream.file_position(g.offset).unwrap()).unwrap();
        assert_eq!(file[at], g.opcode.byte(), "{}", g.qualified());
    }
}

#[test]
fn torchscript_archive_is_told_apart_and_all_its_pickles_scanned() {
    let g = support::generated("archive");
    let path = g.torch_zip("torch_data", "torchscript");
    let s = scan(&path, "model.pt");
    assert_eq!(s.error, None);
    assert_eq!(s.format, Format::TorchScript);
    let members: Vec<&str> = s
        .streams
        .iter()
        .filter_map(|x| x.member.as_deref())
        .collect();
    assert_eq!(members, ["archive/data.pkl", "archive/constants.pkl"]);
    assert!(s.streams.iter().all(|x| x.scan.error.is_none()));
}

#[test]
fn malicious_torch_archive_reports_the_member_and_offset() {
    let g = support::generated("archive");
    let path = g.torch_zip("torch_data_evil", "stored");
    let s = scan(&path, "model.pt");
    let evil: Vec<_> = globals(&s)
        .into_iter()
        .filter(|x| x.3 == Class::Dangerous)
        .collect();
    assert_eq!(
        evil,
        [(
            "archive/data.pkl".to_string(),
            240,
            "posix.system".to_string(),
            Class::Dangerous
        )]
    );
    // The REDUCE that calls it is recorded too.
    let calls = &s.streams[0].scan.calls;
    let sys_index = s.streams[0]
        .scan
        .globals
        .iter()
        .position(|x| x.qualified() == "posix.system")
        .unwrap();
    assert!(calls.iter().any(|c| c.global == sys_index));
}

#[test]
fn deflated_member_is_inflated_and_scanned() {
    let g = support::generated("archive");
    let path = g.torch_zip("torch_data_evil", "deflated");
    let s = scan(&path, "model.pt");
    assert_eq!(s.error, None);
    assert_eq!(s.streams[0].file_offset, None);
    assert_eq!(s.streams[0].file_position(0), None);
    let found: Vec<(String, u64, String)> = globals(&s)
        .into_iter()
        .map(|(m, o, q, _)| (m, o, q))
        .collect();
    assert_eq!(
        found,
        oracle_globals(g, "torch_data_evil", "archive/data.pkl")
    );
}

#[test]
fn overlapping_members_are_refused() {
    let g = support::generated("archive");
    let path = g.torch_zip("torch_data", "overlap");
    let s = scan(&path, "model.pt");
    let err = s.error.unwrap();
    assert!(err.message.contains("overlap"), "{}", err.message);
    assert_eq!(err.offset, Some(0));
    assert!(s.streams.is_empty());
}

#[test]
fn impossible_compression_ratio_is_refused() {
    let g = support::generated("archive");
    let path = g.torch_zip("torch_data", "liar");
    let s = scan(&path, "model.pt");
    assert_eq!(s.error, None);
    assert!(s.streams.is_empty());
    assert_eq!(s.issues.len(), 1);
    assert_eq!(s.issues[0].member.as_deref(), Some("archive/data.pkl"));
    assert!(
        s.issues[0].message.contains("more than deflate can encode"),
        "{}",
        s.issues[0].message
    );
}

#[test]
fn npz_object_array_member_is_scanned() {
    let g = support::generated("archive");
    let path = g.torch_zip("os_system_p4", "npz");
    let s = scan(&path, "arrays.npz");
    assert_eq!(s.format, Format::Zip);
    assert_eq!(s.error, None);
    let found = globals(&s);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "values.npy");
    assert_eq!(found[0].2, "posix.system");
    assert_eq!(found[0].3, Class::Dangerous);
    // The pickle follows the header, padded to 128 bytes: offset 128 + 28 in the member.
    assert_eq!(found[0].1, 128 + 28);
}

#[test]
fn npy_object_array_file_is_scanned_with_absolute_offsets() {
    let g = support::generated("archive");
    let payload = g.bytes("os_system_p2");
    let header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n";
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    file.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    file.extend_from_slice(header.as_bytes());
    let start = file.len() as u64;
    file.extend_from_slice(&payload);
    let path = g.dir.join("objects.npy");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&file)
        .unwrap();
    let s = scan(&path, "objects.npy");
    assert_eq!(s.format, Format::Numpy);
    assert_eq!(s.streams[0].file_offset, Some(start));
    assert_eq!(s.streams[0].scan.globals[0].offset, start + 2);
    // In a file of its own, the offsets are already file offsets.
    assert_eq!(s.streams[0].file_position(start + 2), Some(start + 2));
    assert_eq!(s.streams[0].scan.globals[0].class, Class::Dangerous);

    // A numeric array holds no pickle: nothing to scan.
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n";
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    file.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&[0, 0, 0, 0]);
    std::fs::write(&path, &file).unwrap();
    let s = scan(&path, "objects.npy");
    assert_eq!(
        (s.format, s.streams.len(), s.error),
        (Format::Numpy, 0, None)
    );
}

#[test]
fn non_pickle_formats_are_recognised_and_not_scanned() {
    let g = support::generated("archive");
    let dir = g.dir.join("formats");
    std::fs::create_dir_all(&dir).unwrap();
    let header = br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut st = (header.len() as u64).to_le_bytes().to_vec();
    st.extend_from_slice(header);
    st.extend_from_slice(&[0; 4]);
    for (name, bytes, format) in [
        ("model.safetensors", st.as_slice(), Format::Safetensors),
        (
            "model.onnx",
            b"\x08\x07\x12\x07pytorch".as_slice(),
            Format::Onnx,
        ),
        (
            "model.plan",
            b"ftrt\x00\x00".as_slice(),
            Format::TensorRtPlan,
        ),
        ("model.py", b"import numpy\n".as_slice(), Format::Python),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let s = scan(&path, name);
        assert_eq!(
            (s.format, s.streams.len(), s.error),
            (format, 0, None),
            "{name}"
        );
    }
    // A `.pt` that is neither zip nor pickle: scanned as a pickle, and the failure reported.
    let path = dir.join("broken.pt");
    std::fs::write(&path, b"\x00\x00\x00\x00").unwrap();
    let s = scan(&path, "broken.pt");
    assert_eq!(s.format, Format::Pickle);
    assert!(s.streams[0].scan.error.is_some());
}
