//! Parquet that Spark reads: Spark 3.5's Parquet reader refuses `TIMESTAMP(NANOS)` columns
//! ("Illegal Parquet type: INT64 (TIMESTAMP(NANOS,…))"), while DataFusion's timestamps are
//! nanoseconds by default (`now()`, `to_timestamp`, CSV inference). `COPY … TO … STORED AS
//! PARQUET` therefore writes timestamps in microseconds — Spark's own precision.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::Column;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, cast};

/// `plan` with nanosecond timestamps cast to microseconds when it writes Parquet.
pub fn timestamps_in_micros(plan: LogicalPlan) -> Result<LogicalPlan> {
    let LogicalPlan::Copy(mut copy) = plan else {
        return Ok(plan);
    };
    let nanos = |t: &DataType| matches!(t, DataType::Timestamp(TimeUnit::Nanosecond, _));
    let schema = copy.input.schema().clone();
    if !copy.file_type.get_ext().eq_ignore_ascii_case("parquet") || !schema.fields().iter().any(|f| nanos(f.data_type())) {
        return Ok(LogicalPlan::Copy(copy));
    }
    let columns = schema.iter().map(|(qualifier, field)| {
        let column = Expr::Column(Column::from((qualifier, field)));
        match field.data_type() {
            DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
                cast(column, DataType::Timestamp(TimeUnit::Microsecond, tz.clone())).alias(field.name())
            }
            _ => column,
        }
    });
    let input = LogicalPlanBuilder::from(copy.input.as_ref().clone())
        .project(columns)?
        .build()?;
    copy.input = Arc::new(input);
    Ok(LogicalPlan::Copy(copy))
}
