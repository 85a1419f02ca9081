//! The participant's safety plan through the bindings (`Vault.care()`; issue 4). Kept in their private journal
//! document, so it is on every one of their devices and readable offline: the app shows it on a risk
//! event. Steps: `SafetyStep`, in the order `safety_plan_steps()` gives; their ids in the
//! document are "warning-signs" ... "what-matters".

use super::SafetyStep;
use super::care::Care;
use super::{Result, with};
use sebaya_core::care::safety::{SafetyItem, Step};

/// One item of the plan.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafetyPlanItem {
    /// Stable id (16 hex characters).
    pub id: String,
    /// The step it belongs to.
    pub step: SafetyStep,
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
    /// The step.
    pub step: SafetyStep,
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
        step: i.step.into(),
        text: i.text,
        order: i.order,
        added_ms: i.added_ms,
        edited_ms: i.edited_ms,
    }
}

/// The steps, in the order the plan shows them.
#[uniffi::export]
pub fn safety_plan_steps() -> Vec<SafetyStep> {
    Step::ALL.into_iter().map(Into::into).collect()
}

#[uniffi::export]
impl Care {
    /// The plan: always the seven sections in order (empty ones too), titles and prompts in
    /// `locale` ("id" or "en").
    pub fn safety_plan(&self, locale: String) -> Result<Vec<SafetyPlanSection>> {
        with(&self.inner, |v| {
            Ok(v.safety_plan()
                .sections
                .into_iter()
                .map(|s| SafetyPlanSection {
                    step: s.step.into(),
                    title: s.step.title(&locale),
                    prompt: s.step.prompt(&locale),
                    items: s.items.into_iter().map(item).collect(),
                })
                .collect())
        })
    }

    /// Adds an item at the end of a step, durably; returns its id. Throws `InvalidInput` for an
    /// `Unknown` step or an empty, oversized (over 2,000 characters) or control-character text.
    pub fn add_safety_plan_item(&self, step: SafetyStep, text: String) -> Result<String> {
        let step = step.to_core()?;
        with(&self.inner, |v| v.safety_plan_add(step, &text))
    }

    /// Changes an item's text, step or position (only what is given). Throws `NotFound` for an
    /// unknown id.
    #[uniffi::method(default(text = None, step = None, order = None))]
    pub fn edit_safety_plan_item(
        &self,
        id: String,
        text: Option<String>,
        step: Option<SafetyStep>,
        order: Option<i64>,
    ) -> Result<()> {
        let step = step.map(|s| s.to_core()).transpose()?;
        with(&self.inner, |v| {
            v.safety_plan_edit(&id, text.as_deref(), step, order)
        })
    }

    /// Removes an item. Throws `NotFound` for an unknown id.
    pub fn remove_safety_plan_item(&self, id: String) -> Result<()> {
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
