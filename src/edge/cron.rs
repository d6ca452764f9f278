//! The Cron Trigger (`[triggers] crons` in wrangler.toml): drains what an unpaused
//! destination still holds (an event held by a consumer that read a pause just before it
//! was lifted, or a drain that stopped at a failure with no queue to retry on).

use worker::{event, Env, ScheduleContext, ScheduledEvent};

use super::config::Config;
use super::enqueue::send_drain;
use super::{held, warn, EVENTS_BINDING};

#[event(scheduled)]
pub async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let config = match Config::get(&env) {
        Ok(c) => c,
        Err(e) => return warn("cron_config", "", "", &e.to_string()),
    };
    for d in config.destinations.all() {
        if held::is_paused(&env, &d.name).await {
            continue;
        }
        match held::count(&env, &d.name).await {
            Ok(0) => continue,
            Ok(_) => {}
            Err(e) => {
                warn("cron_drain", "", "", &e);
                continue;
            }
        }
        if env.queue(EVENTS_BINDING).is_ok() {
            if let Err(e) = send_drain(&env, &d.name).await {
                warn("cron_drain", "", "", &e);
            }
        } else {
            held::drain(&env, &config, d).await;
        }
    }
}
