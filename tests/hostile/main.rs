//! Hostile input (issue 13): inputs built to make a parser or the model repository audit
//! slow, large or blind. Every case runs in a child process bounded in time and memory
//! (see `bounded`), and checks that the result is still right.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the child reports its peak memory on stdout; the parent shows each case's cost"
)]

mod bounded;
mod parsers;
mod picklescan;
mod reads;
mod repo;
