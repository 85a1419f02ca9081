# safety messages (en). Keys must exist in both languages: i18n tests check it.
# Our own wording for the safety plan's sections (not taken from any published template).
safety-step-warning-signs-title = Signs a hard time is starting
safety-step-warning-signs-prompt = What do you notice in your thoughts, feelings or actions when things begin to get too much?
safety-step-coping-alone-title = What I can do by myself
safety-step-coping-alone-prompt = Small things you can do alone that help you get through the moment.
safety-step-distractions-title = People and places that help me switch off
safety-step-distractions-prompt = Who could you be with, or where could you go, to think about something else for a while?
safety-step-help-people-title = People I can turn to
safety-step-help-people-prompt = Who could you tell how you feel and ask for help? Note how to reach them.
safety-step-professionals-title = Professional help and crisis lines
safety-step-professionals-prompt = Counsellors, health workers and crisis lines you can contact; your programme lists the ones near you.
safety-step-safer-surroundings-title = Making where I am safer
safety-step-safer-surroundings-prompt = What could you put away, hand to someone, or stay away from while things are hard?
safety-step-what-matters-title = What matters most to me
safety-step-what-matters-prompt = The people, hopes and reasons that keep you going.
safety-summary-heading = My safety plan
safety-summary-empty = (nothing written yet)
