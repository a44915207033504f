//! Deterministic pseudo-random texts made of a format's syntax pieces, for the tests that
//! check that no input makes a parser panic or report a span outside its text.

/// `count` texts, each a sequence of up to `max_pieces` entries of `pieces`.
pub(crate) fn texts(pieces: &[&str], count: usize, max_pieces: u64, seed: u64) -> Vec<String> {
    let mut state = seed | 1;
    let mut next = move || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let len = next() % (max_pieces + 1);
            (0..len)
                .map(|_| pieces[(next() >> 33) as usize % pieces.len()])
                .collect()
        })
        .collect()
}
