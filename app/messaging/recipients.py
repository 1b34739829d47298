"""The families a message goes to, as the outbox takes them."""

from app.core.languages import mt_code
from app.delivery.service import Recipient
from app.people.models import Guardian


def recipient_of(guardian: Guardian) -> Recipient:
    return Recipient(
        guardian.id,
        f"{guardian.given_name} {guardian.family_name}",
        guardian.language,
        mt_code(guardian.language),
        tuple(guardian.channels),
        guardian.phone,
        guardian.email,
    )
