#![no_main]
//! The zip reader: central directory, local headers, and every member read to its end
//! under small limits.

use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use tritonguard::repo::archive::{ArchiveLimits, local_header, open_member, read_entries};

fuzz_target!(|data: &[u8]| {
    let limits = ArchiveLimits {
        max_entries: 4096,
        max_central_directory: 1 << 20,
        max_inflated: 8 << 20,
    };
    let len = data.len() as u64;
    let mut file = Cursor::new(data);
    let Ok(entries) = read_entries(&mut file, len, &limits) else {
        return;
    };
    for entry in entries.iter().take(64) {
        let Ok(header) = local_header(&mut file, entry, len) else {
            continue;
        };
        if let Ok(mut member) = open_member(&mut file, entry, &header, &limits) {
            let mut sink = Vec::new();
            let _ = member
                .by_ref()
                .take(limits.max_inflated + 1)
                .read_to_end(&mut sink);
            assert!(sink.len() as u64 <= limits.max_inflated);
        }
    }
});
