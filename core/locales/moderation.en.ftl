# reports and blocks (en; issue 18, item 2). Keys must exist in both languages: i18n tests check it.
report-reason-harassment = Harassing or bullying someone
report-reason-hateful = Hateful about who someone is
report-reason-unsafe-advice = Advice that could hurt someone
report-reason-private-information = Sharing someone's private information
report-reason-worried-about-them = I am worried about this person
report-reason-other = Something else
report-reason-blocked = A member was blocked
report-sent = Your report was sent to the programme's coordinators. The person you reported will not see your name.
report-about-facilitator = Reports about the facilitator go to the coordinators only. About your supporter or a coordinator, contact your coordinator another way.
block-done = You will no longer see this member's notes and messages. The facilitator is told that a member was blocked, not by whom.
block-coordinator-refused = A coordinator's messages are never hidden.
