//! Renders every planned `helm template` (in parallel) and keeps each result with what it
//! was rendered from.

use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::command::Helm;
use super::plan::RenderPlan;

/// One successful render: a deployment unit's text.
#[derive(Clone, Debug)]
pub struct Render {
    pub plan: RenderPlan,
    /// The `helm template` stream.
    pub text: String,
}

impl Render {
    /// The name the rendered text has in reports (see [`RenderPlan::display`]).
    pub fn display(&self) -> String {
        self.plan.display()
    }
}

/// A render Helm refused, with Helm's message.
#[derive(Clone, Debug)]
pub struct RenderFailure {
    pub plan: RenderPlan,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct Renders {
    pub renders: Vec<Render>,
    pub failures: Vec<RenderFailure>,
    /// `helm` invocations, and the wall time they took.
    pub invocations: usize,
    pub elapsed: Duration,
}

/// Runs each plan once, in plan order in the result.
pub fn render_all(helm: &Helm, plans: Vec<RenderPlan>) -> Renders {
    let started = Instant::now();
    let invocations = plans.len();
    let results: Vec<(RenderPlan, Result<String, String>)> = plans
        .into_par_iter()
        .map(|plan| {
            let result = helm.template(&plan, &[]).map_err(|e| e.message);
            (plan, result)
        })
        .collect();
    let mut renders = Renders {
        invocations,
        ..Renders::default()
    };
    for (plan, result) in results {
        match result {
            Ok(text) => renders.renders.push(Render { plan, text }),
            Err(message) => renders.failures.push(RenderFailure { plan, message }),
        }
    }
    renders.elapsed = started.elapsed();
    renders
}
