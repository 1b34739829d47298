"""What Hearth adds to a question in the family's language: how to answer, and the one polite
"please reply with…" when an answer could not be read. Written by people: their translations are
in the gettext catalogs (`locales/*/LC_MESSAGES/messages.po`, `make catalogs`); a language no
catalog translates gets them by machine translation where a model exists, else in English.
Placeholders are `%(name)s`."""


def N_(message: str) -> str:
    """Marks a text for `pybabel extract`; it is translated when it is sent."""
    return message


HOW_YES_NO = "how_yes_no"
HOW_CHOICE = "how_choice"
HOW_NUMBER = "how_number"
HOW_TEXT = "how_text"
AGAIN_YES_NO = "again_yes_no"
AGAIN_CHOICE = "again_choice"
AGAIN_NUMBER = "again_number"
REMINDER = "reminder"
PLACES_LEFT = "places_left"
FULL = "full"
ALL_FULL = "all_full"
HOW_PERMISSION = "how_permission"
ASK_SIGNATURE = "ask_signature"
AGAIN_PERMISSION = "again_permission"
SIGNED = "signed"
INVITE = "invite"
HOW_SLOT = "how_slot"
BOOKED = "booked"
CANCELED = "canceled"
CHANGE = "change"
MEETING_REMINDER = "meeting_reminder"
WHERE = "where"

TEXTS: dict[str, str] = {
    # TRANSLATORS: under a question texted to a family. Keep the digits 1 and 2.
    HOW_YES_NO: N_("Reply 1 for Yes, 2 for No."),
    # TRANSLATORS: under a question texted to a family; the numbered options follow.
    HOW_CHOICE: N_("Reply with the number of your choice:"),
    # TRANSLATORS: under a question whose answer is a number ("How many will come?").
    HOW_NUMBER: N_("Reply with a number."),
    # TRANSLATORS: under a question a family answers in its own words.
    HOW_TEXT: N_("Reply with your answer."),
    # TRANSLATORS: sent once when a family's answer to a yes/no question could not be read.
    AGAIN_YES_NO: N_("Sorry, we could not read your answer. Please reply 1 for Yes or 2 for No."),
    # TRANSLATORS: sent once when a family's answer to a choice could not be read.
    AGAIN_CHOICE: N_(
        "Sorry, we could not read your answer. Please reply with a number from 1 to %(count)s."
    ),
    # TRANSLATORS: sent once when a family's answer to a "how many" question could not be read.
    AGAIN_NUMBER: N_("Sorry, we could not read your answer. Please reply with a number."),
    # TRANSLATORS: starts a reminder to families who have not answered a question yet.
    REMINDER: N_("Reminder:"),
    # TRANSLATORS: after a choice of a sign-up or a meeting time, e.g. "2. Friday 3 pm (places
    # left: 2)".
    PLACES_LEFT: N_("(places left: %(count)s)"),
    # TRANSLATORS: sent when the choice a family replied with has no place left; the choices
    # still open follow, numbered.
    FULL: N_("Sorry, that choice is full. Still open:"),
    # TRANSLATORS: sent when a family answers a sign-up whose every choice is full.
    ALL_FULL: N_("Sorry, every choice is full."),
    # TRANSLATORS: under a permission slip texted to a family. Keep the digits 1 and 2; the
    # example name may be one usual in your language.
    HOW_PERMISSION: N_(
        "To give permission, reply 1 and your full name (for example: 1 Maria Lopez). "
        "To refuse, reply 2."
    ),
    # TRANSLATORS: sent when a family said yes to a permission slip without its name.
    ASK_SIGNATURE: N_("Thank you. To sign, please reply with your full name."),
    # TRANSLATORS: sent once when a family's answer to a permission slip could not be read.
    AGAIN_PERMISSION: N_(
        "Sorry, we could not read your answer. Please reply 1 and your full name to give "
        "permission, or 2 to refuse."
    ),
    # TRANSLATORS: confirms a permission slip's answer; %(name)s is the name the family typed.
    SIGNED: N_("Thank you. Your answer is recorded, signed: %(name)s."),
    # TRANSLATORS: starts a teacher's invitation to a parent-teacher conference; the times
    # follow, numbered.
    INVITE: N_(
        "%(teacher)s would like to meet with you about your child. Each meeting takes "
        "%(minutes)s minutes."
    ),
    # TRANSLATORS: before a conference's numbered times, e.g. "1. Tue, Dec 15, 3:00 PM".
    HOW_SLOT: N_("Reply with the number of a time:"),
    # TRANSLATORS: confirms a conference booking; %(when)s is its day and time. Keep the 0.
    BOOKED: N_(
        "Booked: %(when)s. To change it, reply with the number of another time; to cancel it, "
        "reply 0."
    ),
    # TRANSLATORS: confirms that a family canceled its conference time.
    CANCELED: N_(
        "Your meeting on %(when)s is canceled. To book another time, reply with its number."
    ),
    # TRANSLATORS: answers a family that asks to change its conference time; the open times
    # follow, numbered.
    CHANGE: N_("To change your meeting, reply with the number of another time:"),
    # TRANSLATORS: sent the day before a booked conference.
    MEETING_REMINDER: N_("Reminder: your meeting with %(teacher)s is on %(when)s."),
    # TRANSLATORS: where a meeting is: a room, a phone number, a video link.
    WHERE: N_("Where: %(place)s."),
}

# What the family page says when an answer given with its buttons is refused (nothing is
# recorded), in the family's language.
# TRANSLATORS: the family page; the answer sent is none of the question's.
NOT_AN_OPTION = N_("Please choose one of the answers shown.")
# TRANSLATORS: the family page; a "how many" question was answered with no number.
NOT_A_NUMBER = N_("Please write a number.")
# TRANSLATORS: the family page; a permission slip's yes needs the guardian's full name.
NO_SIGNATURE = N_("To give permission, please type your full name.")
# TRANSLATORS: the family page; the choice has no place left.
CHOICE_FULL = N_("Sorry, that choice is full. Please choose another.")
# TRANSLATORS: the family page; the question's deadline has passed.
CLOSED = N_("This question is closed: its deadline has passed.")
# TRANSLATORS: the family page; a question answered in the family's own words, left empty.
EMPTY_ANSWER = N_("Please write your answer.")
