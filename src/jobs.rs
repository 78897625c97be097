//! Scheduled jobs, run by tokio-cron-scheduler.
//!
//! Each job is a plain async function with explicit dependencies, which tests call
//! directly. The scheduler gives each run a span and one outcome line; a failing job logs
//! and waits for its next tick, and never stops the others.

use std::future::Future;

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use tracing::Instrument;

use crate::clock::Clock;
use crate::retention::{self, RetentionPolicy};
use crate::store::Store;

/// Every night at 03:17 UTC, away from the round hours other systems favour.
const RETENTION_SCHEDULE: &str = "0 17 3 * * *";

/// What the jobs need.
#[derive(Clone)]
pub struct JobContext {
    pub store: Store,
    pub clock: Clock,
    pub retention: RetentionPolicy,
}

/// Starts the scheduler with every job registered.
pub async fn start(context: JobContext) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    scheduler
        .add(scheduled(
            "retention purge",
            RETENTION_SCHEDULE,
            context,
            |context| async move {
                retention::purge(&context.store, &context.clock, context.retention, false)
                    .await
                    .map(|_| ())
                    .map_err(anyhow::Error::from)
            },
        )?)
        .await?;
    scheduler.start().await?;
    Ok(scheduler)
}

/// Wraps a job function: one span per run, one line for its outcome.
fn scheduled<F, Fut>(
    name: &'static str,
    schedule: &str,
    context: JobContext,
    run: F,
) -> Result<Job, JobSchedulerError>
where
    F: Fn(JobContext) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Job::new_async(schedule, move |_id, _scheduler| {
        let context = context.clone();
        let run = run.clone();
        Box::pin(
            async move {
                match run(context).await {
                    Ok(()) => tracing::info!("job finished"),
                    Err(error) => tracing::warn!(error = format!("{error:#}"), "job failed"),
                }
            }
            .instrument(tracing::info_span!("job", job.name = name)),
        )
    })
}
