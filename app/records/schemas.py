from datetime import datetime
from typing import Any

from app.core.schema import Output


class PurgeReport(Output):
    """What a retention run erased (or, on a dry run, would erase)."""

    days: int  # the retention period; 0 keeps everything
    cutoff: datetime | None  # texts older than this are erased
    dry_run: bool
    deliveries: int  # rendered bodies
    messages: int  # originals
    translations: int
    inbound_sms: int
    inbound_emails: int
    broadcasts: int
    translation_cache: int  # cache rows deleted
    interpretations: int  # interpretation tasks whose texts were erased
    translation_memory: int  # interpreters' translations deleted
    attachments: int = 0  # photos and PDFs deleted, files and all
    messages_held: int  # old, but kept: something of the message is still on its way


class ExportedGuardian(Output):
    id: int
    given_name: str
    family_name: str
    phone: str | None
    email: str | None
    external_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class ChannelSettings(Output):
    language: str
    language_confirmed: bool
    channels: list[str]
    channels_confirmed: bool
    email_unsubscribed: bool  # by the one-click link in a note's email
    sms_stopped_senders: list[str]  # school numbers this phone said STOP to


class ExportedStudent(Output):
    id: int
    school_id: int
    external_id: str
    given_name: str
    family_name: str
    grade: str | None
    active: bool
    relationship: str


class ExportedTranslation(Output):
    language: str
    status: str
    text: str | None
    engine: str | None
    reason: str | None


class ExportedMessage(Output):
    id: int
    direction: str
    kind: str
    author_staff_id: int | None
    from_this_family: bool
    body: str  # as written; empty once erased
    language: str
    created_at: datetime
    translations: list[ExportedTranslation]


class ExportedThread(Output):
    id: int
    school_id: int
    student_id: int | None
    subject: str
    status: str
    created_at: datetime
    last_activity_at: datetime
    other_families: int  # how many other families share it (who they are is not exported)
    messages: list[ExportedMessage]


class ExportedDelivery(Output):
    id: int
    message_id: int
    school_id: int
    channel: str
    address: str
    sender: str | None
    language: str
    body: str | None
    segments: int
    status: str
    attempts: int
    error_code: str | None
    error_text: str | None
    provider_id: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class ExportedInboundSms(Output):
    id: int
    message_sid: str
    from_number: str
    to_number: str
    body: str
    status: str
    result: str | None
    message_id: int | None
    received_at: datetime
    processed_at: datetime | None


class ExportedInboundEmail(Output):
    id: int
    message_id: int | None
    received_at: datetime
    raw: str  # the MIME message as received


class ExportedOptOut(Output):
    phone: str
    sender: str
    school_id: int | None
    active: bool
    keyword: str | None
    source: str
    opted_out_at: datetime
    resumed_at: datetime | None


class ExportedAuditEvent(Output):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    school_id: int | None
    details: dict[str, Any]


class GuardianExport(Output):
    """Everything Hearth holds about one family that the caller may see."""

    exported_at: datetime
    guardian: ExportedGuardian
    channel_settings: ChannelSettings
    students: list[ExportedStudent]
    threads: list[ExportedThread]
    deliveries: list[ExportedDelivery]
    inbound_sms: list[ExportedInboundSms]
    inbound_emails: list[ExportedInboundEmail]
    opt_outs: list[ExportedOptOut]
    audit_events: list[ExportedAuditEvent]


class DeletionReport(Output):
    """What deleting a family changed. Threads shared with other families are kept for them:
    only this family's replies and copies are erased there."""

    guardian_id: int
    deliveries_canceled: int  # had not gone out; never will
    deliveries_erased: int  # text and address erased, status kept
    messages_erased: int
    translations_erased: int
    interpretations_erased: int  # interpreters' texts on them (tasks still open are closed)
    inbound_sms_erased: int
    inbound_emails_erased: int
    translation_cache_deleted: int
    attachments_deleted: int = 0  # photos and PDFs on the erased messages, files and all
    threads_erased: int  # threads only this family was in
    threads_kept_for_other_families: int
    student_links_removed: int
    opt_outs_kept: int  # STOP records of the number, kept so it is never texted again
    phone_shared: bool  # another guardian has the same number: its texts stay theirs too
    email_shared: bool
