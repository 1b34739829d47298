"""The few texts Hearth itself sends by SMS, in the families' languages.

Short, plain, and written by people. A language missing here gets the English text machine-
translated when a model is installed, else the English text."""

STOP_CONFIRMED = {
    "en": "You will no longer receive texts from {school}. Reply START to receive them again.",
    "es": "Ya no recibirá mensajes de {school}. Responda START para volver a recibirlos.",
    "pt": "Você não receberá mais mensagens de {school}. Responda START para voltar a recebê-las.",
    "fr": "Vous ne recevrez plus de SMS de {school}. Répondez START pour les recevoir à nouveau.",
    "vi": "Quý vị sẽ không nhận tin nhắn từ {school} nữa. Trả lời START để nhận lại.",
    "zh": "您将不再收到{school}的短信。回复 START 可重新接收。",
    "ar": "لن تصلك رسائل من {school} بعد الآن. أرسل START لتلقيها مرة أخرى.",
    "ru": "Вы больше не будете получать сообщения от {school}. "
    "Ответьте START, чтобы снова их получать.",
    "ko": "{school}의 문자를 더 이상 받지 않습니다. 다시 받으려면 START라고 답장하세요.",
}

START_CONFIRMED = {
    "en": "You will receive texts from {school} again. Reply STOP to stop.",
    "es": "Volverá a recibir mensajes de {school}. Responda STOP para dejar de recibirlos.",
    "pt": "Você voltará a receber mensagens de {school}. Responda STOP para parar.",
    "fr": "Vous recevrez à nouveau les SMS de {school}. Répondez STOP pour arrêter.",
    "vi": "Quý vị sẽ nhận lại tin nhắn từ {school}. Trả lời STOP để dừng.",
    "zh": "您将重新收到{school}的短信。回复 STOP 可停止接收。",
    "ar": "ستصلك رسائل {school} مرة أخرى. أرسل STOP للإيقاف.",
    "ru": "Вы снова будете получать сообщения от {school}. Ответьте STOP, чтобы отписаться.",
    "ko": "{school}의 문자를 다시 받습니다. 중지하려면 STOP이라고 답장하세요.",
}

HELP_REPLY = {
    "en": "{school}: messages from your child's school. Questions? {contact}. Reply STOP to stop.",
    "es": "{school}: mensajes de la escuela de su hijo. ¿Preguntas? {contact}. "
    "Responda STOP para no recibir más.",
    "pt": "{school}: mensagens da escola do seu filho. Dúvidas? {contact}. "
    "Responda STOP para parar.",
    "fr": "{school} : messages de l'école de votre enfant. Questions ? {contact}. "
    "Répondez STOP pour arrêter.",
    "vi": "{school}: tin nhắn từ trường của con quý vị. Thắc mắc? {contact}. Trả lời STOP để dừng.",
    "zh": "{school}：来自您孩子学校的消息。如有疑问：{contact}。回复 STOP 停止接收。",
    "ar": "{school}: رسائل من مدرسة طفلك. للاستفسار: {contact}. أرسل STOP للإيقاف.",
    "ru": "{school}: сообщения из школы вашего ребёнка. Вопросы: {contact}. "
    "Ответьте STOP, чтобы отписаться.",
    "ko": "{school}: 자녀 학교에서 보내는 메시지입니다. 문의: {contact}. 중지하려면 STOP.",
}
