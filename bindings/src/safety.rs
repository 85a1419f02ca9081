//! The participant's safety plan through the bindings (issue 4). Kept in their private journal
//! document, so it is on every one of their devices and readable offline: the app shows it on a risk
//! event. Step ids: "warning-signs", "coping-alone", "distractions", "help-people",
//! "professionals", "safer-surroundings", "what-matters" (in that order).

use super::{Result, Vault, with};
use sebaya_core::care::safety::{SafetyItem, Step};

/// One item of the plan.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafetyPlanItem {
    /// Stable id (16 hex characters).
    pub id: String,
    /// The step it belongs to.
    pub step: String,
    /// What the participant wrote.
    pub text: String,
    /// Position within the step (smaller first).
    pub order: i64,
    /// When it was added, ms since the Unix epoch.
    pub added_ms: i64,
    /// When it was last edited, ms since the Unix epoch.
    pub edited_ms: i64,
}

/// A section of the plan, with its title and prompt in the locale asked for.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafetyPlanSection {
    /// The step id.
    pub step: String,
    /// Its title (also `localized_message("safety-step-<step>-title", locale)`).
    pub title: String,
    /// Its one-line prompt (also `localized_message("safety-step-<step>-prompt", locale)`).
    pub prompt: String,
    /// Its items, in order.
    pub items: Vec<SafetyPlanItem>,
}

fn item(i: SafetyItem) -> SafetyPlanItem {
    SafetyPlanItem {
        id: i.id,
        step: i.step.id().to_string(),
        text: i.text,
        order: i.order,
        added_ms: i.added_ms,
        edited_ms: i.edited_ms,
    }
}

/// The step ids, in the order the plan shows them.
#[uniffi::export]
pub fn safety_plan_steps() -> Vec<String> {
    Step::ALL.iter().map(|s| s.id().to_string()).collect()
}

#[uniffi::export]
impl Vault {
    /// The plan: always the seven sections in order (empty ones too), titles and prompts in
    /// `locale` ("id" or "en").
    pub fn safety_plan(&self, locale: String) -> Result<Vec<SafetyPlanSection>> {
        with(&self.inner, |v| {
            Ok(v.safety_plan()
                .sections
                .into_iter()
                .map(|s| SafetyPlanSection {
                    step: s.step.id().to_string(),
                    title: s.step.title(&locale),
                    prompt: s.step.prompt(&locale),
                    items: s.items.into_iter().map(item).collect(),
                })
                .collect())
        })
    }

    /// Adds an item at the end of a step, durably; returns its id. Throws `InvalidInput` for an
    /// unknown step or an empty, oversized (over 2,000 characters) or control-character text.
    pub fn safety_plan_add(&self, step: String, text: String) -> Result<String> {
        let step = Step::from_id(&step)?;
        with(&self.inner, |v| v.safety_plan_add(step, &text))
    }

    /// Changes an item's text, step or position (only what is given). Throws `NotFound` for an
    /// unknown id.
    #[uniffi::method(default(text = None, step = None, order = None))]
    pub fn safety_plan_edit(
        &self,
        id: String,
        text: Option<String>,
        step: Option<String>,
        order: Option<i64>,
    ) -> Result<()> {
        let step = step.map(|s| Step::from_id(&s)).transpose()?;
        with(&self.inner, |v| {
            v.safety_plan_edit(&id, text.as_deref(), step, order)
        })
    }

    /// Removes an item. Throws `NotFound` for an unknown id.
    pub fn safety_plan_remove(&self, id: String) -> Result<()> {
        with(&self.inner, |v| v.safety_plan_remove(&id))
    }

    /// The plan as plain text, titles in `locale`, for the participant to share with their
    /// supporter (sharing it, and the consent for it, is not done here).
    pub fn safety_plan_summary(&self, locale: String) -> Result<String> {
        with(&self.inner, |v| Ok(v.safety_plan_summary(&locale)))
    }

    /// The plan as a JSON snapshot (`{"sections":[{"step":…,"items":[…]}]}`), for a later sharing
    /// feature to send.
    pub fn safety_plan_json(&self) -> Result<String> {
        with(&self.inner, |v| v.safety_plan().to_json())
    }
}
