//! The `tidings` binary: all the work is in the library.

use clap::Parser;

/// mimalloc instead of glibc's malloc: a newsroom-sized cold build allocates millions of
/// short strings on several threads, where glibc's malloc took a fifth of the time and
/// kept far more memory than was live (BENCHMARKS.md, "memory and speed of the cold build").
/// `--features system-alloc` keeps glibc's, for heap profilers that hook `malloc`
/// (heaptrack; BENCHMARKS.md, "where the daemon's heap is").
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs before `main`, and so before Rust's runtime first allocates: mimalloc reads
/// these options when it reserves its first arena.
#[cfg(not(feature = "system-alloc"))]
#[used]
#[link_section = ".init_array"]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

/// Memory the process does not use goes back to the system soon: mimalloc's defaults
/// commit its 1 GiB arena up front on Linux and keep freed pages for a second, which made
/// a cold build's peak RSS a quarter higher than glibc's. Either is still mimalloc's
/// usual environment variable to set, which then wins.
#[cfg(not(feature = "system-alloc"))]
extern "C" fn tune_allocator() {
    // Option numbers from mimalloc 3's `mi_option_e` (include/mimalloc.h); the -sys
    // crate names them only for mimalloc 2.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    let options = [
        (c"MIMALLOC_ARENA_EAGER_COMMIT", ARENA_EAGER_COMMIT, 0),
        (c"MIMALLOC_PURGE_DELAY", PURGE_DELAY, PURGE_DELAY_MS),
    ];
    for (variable, option, value) in options {
        // SAFETY: getenv reads the environment, which nothing writes before `main`
        // (std's own variable functions would allocate, and so start mimalloc with its
        // defaults); mi_option_set only stores a number in mimalloc's option table.
        unsafe {
            if libc::getenv(variable.as_ptr()).is_null() {
                libmimalloc_sys::mi_option_set(option, value);
            }
        }
    }
}

/// How long freed pages stay with mimalloc before they go back to the system.
#[cfg(not(feature = "system-alloc"))]
const PURGE_DELAY_MS: std::ffi::c_long = 0;

fn main() -> std::process::ExitCode {
    tidings::cli::run(tidings::cli::Args::parse())
}
