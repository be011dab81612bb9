//! SQLite's rows read as [`Columns`](crate::records::Columns), and its errors as the port's.

use sqlx::sqlite::SqliteRow;
use tweestap_core::ports::StoreError;

pub use crate::records::*;

pub fn backend(e: sqlx::Error) -> StoreError {
    super::connections::note_error(&e);
    StoreError::Backend(e.to_string())
}

columns_for!(SqliteRow, backend);
