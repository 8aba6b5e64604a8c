//! Integration tests; modules mirror `src/`.

mod chunk;
mod db;
mod gc;
mod manifest_file;
mod pack;
mod store;
mod util;
mod verify;
mod writer;
