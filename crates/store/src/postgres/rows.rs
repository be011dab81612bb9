//! PostgreSQL's rows read as [`Columns`](crate::records::Columns), and its errors as the port's.

use sqlx::postgres::PgRow;
use tweestap_core::ports::StoreError;

pub use crate::records::*;

pub fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

columns_for!(PgRow, backend);
