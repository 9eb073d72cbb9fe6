"""Every Vietnamese string the bot shows: messages, buttons, command descriptions and error-code wording.

Strings containing `{name}` placeholders are formatted with values that are ALREADY HTML-escaped by the
caller (bot.messages.escape); the strings themselves are valid Telegram HTML.
"""

from __future__ import annotations

import re
from typing import Any

# --- Commands (ASCII names; descriptions shown in the Telegram menu and /trogiup) ----------------------
COMMAND_DESCRIPTIONS: dict[str, str] = {
    "start": "Bắt đầu, đăng nhập bằng số điện thoại",
    "hoi": "Hỏi về quy định (ví dụ: /hoi thời gian luân chuyển)",
    "vanban": "Danh sách văn bản đã nạp",
    "trogiup": "Hướng dẫn và các lệnh bạn được dùng",
    "huy": "Hủy thao tác đang làm",
    "toi": "Thông tin tài khoản của tôi",
    "cauhoi": "Câu hỏi đang chờ cán bộ Ban Tổ chức trả lời",
    "gopy": "Góp ý 👍/👎 của người dùng về câu trả lời",
}

# --- Sign-in --------------------------------------------------------------------------------------
WELCOME_LINKED = "Xin chào <b>{name}</b>! Tài khoản của bạn đã được liên kết.\nGõ câu hỏi về quy định hoặc /trogiup để xem các lệnh."
WELCOME_ASK_CONTACT = (
    "Xin chào! Đây là <b>Trợ lý Công tác Cán bộ</b>.\n\n"
    "Để đăng nhập, vui lòng bấm nút <b>«Chia sẻ số điện thoại»</b> bên dưới "
    "(số phải trùng với số trong danh sách cán bộ), hoặc gửi <b>mã mời</b> do quản trị viên cấp.\n\n"
    "Bạn vẫn có thể hỏi về quy định ngay bây giờ."
)
WELCOME_ASK_CONTACT_LOGIN_REQUIRED = (
    "Xin chào! Đây là <b>Trợ lý Công tác Cán bộ</b>.\n\n"
    "Để sử dụng, vui lòng bấm nút <b>«Chia sẻ số điện thoại»</b> bên dưới "
    "(số phải trùng với số trong danh sách cán bộ), hoặc gửi <b>mã mời</b> do quản trị viên cấp."
)
BUTTON_SHARE_CONTACT = "📱 Chia sẻ số điện thoại"
CONTACT_NOT_OWN = (
    "Số điện thoại bạn gửi không phải của chính tài khoản Telegram này. "
    "Vui lòng bấm nút <b>«Chia sẻ số điện thoại»</b> để gửi số của chính bạn."
)
CONTACT_UNKNOWN = (
    "Số điện thoại này chưa có trong danh sách cán bộ. "
    "Vui lòng liên hệ <b>{support}</b> để được bổ sung, hoặc xin một mã mời rồi gửi <code>/start MÃ</code>."
)
CONTACT_BAD_NUMBER = "Số điện thoại không hợp lệ. Vui lòng bấm nút <b>«Chia sẻ số điện thoại»</b> để gửi lại."
LINKED_OK = "✅ Đã liên kết tài khoản với <b>{name}</b> ({unit}).\nGõ /trogiup để xem các lệnh bạn được dùng."
ALREADY_LINKED = "Tài khoản của bạn đã được liên kết với <b>{name}</b>. Gõ /trogiup để xem các lệnh."
LINKED_TO_OTHER = (
    "Người này đã được liên kết với một tài khoản Telegram khác. "
    "Nếu bạn đổi tài khoản, vui lòng liên hệ <b>{support}</b>."
)
INVITE_INVALID = "Mã mời không đúng, đã dùng hoặc đã hết hạn. Vui lòng kiểm tra lại hoặc liên hệ <b>{support}</b> để xin mã mới."
LOGIN_REQUIRED = (
    "Bạn cần đăng nhập để dùng chức năng này. Gõ /start rồi bấm nút <b>«Chia sẻ số điện thoại»</b> "
    "hoặc gửi mã mời."
)
NOT_ALLOWED = "Bạn không có quyền dùng chức năng này. Nếu cần, vui lòng liên hệ <b>{support}</b>."
PRIVATE_ONLY = (
    "Chức năng này có liên quan đến thông tin cá nhân nên chỉ dùng trong tin nhắn riêng. "
    'Vui lòng <a href="https://t.me/{bot_username}">nhắn riêng cho bot</a>.'
)
WHOAMI = "👤 <b>{name}</b>\nĐơn vị: {unit}\nVai trò: {roles}"
ROLE_NAMES: dict[str, str] = {
    "cadre": "cán bộ",
    "reviewer": "người nhận xét, đánh giá",
    "head": "thủ trưởng",
    "staff": "chuyên viên Ban Tổ chức",
    "admin": "quản trị",
}

# --- Help, cancel ---------------------------------------------------------------------------------
HELP_HEADER = "<b>Trợ lý Công tác Cán bộ</b> — các lệnh bạn được dùng:"
HELP_QA = "Gõ câu hỏi bất kỳ về quy định (có dấu hoặc không dấu) trong tin nhắn riêng, bot trả lời kèm trích dẫn văn bản, Điều, Khoản."
HELP_GROUP = "Trong nhóm: gọi bot bằng <code>/hoi câu hỏi</code> hoặc nhắc tên @{bot_username}."
HELP_ADMIN = "Quản trị: gửi tệp PDF, DOCX, TXT, MD hoặc HTML để nạp văn bản; gửi tệp CSV/XLSX danh sách cán bộ để nhập."
HELP_GUEST = "Bạn chưa đăng nhập: gõ /start để đăng nhập và dùng đầy đủ chức năng."
CANCELLED = "Đã hủy thao tác đang làm."
NOTHING_TO_CANCEL = "Không có thao tác nào đang làm."

# --- Q&A ------------------------------------------------------------------------------------------
ASK_EMPTY = "Vui lòng gõ câu hỏi sau lệnh, ví dụ: <code>/hoi thời gian luân chuyển cán bộ là bao lâu</code>"
QUESTION_TOO_SHORT = (
    "Câu hỏi quá ngắn. Vui lòng hỏi đầy đủ hơn, ví dụ: «thời gian luân chuyển cán bộ là bao lâu?»"
)
QUESTION_TOO_LONG = "Câu hỏi quá dài (tối đa {limit} ký tự). Vui lòng rút gọn và gửi lại."
CITATIONS_HEADER = "<b>Căn cứ:</b>"
NEAREST_HEADER = "<b>Các điều gần nhất đã tìm thấy (có thể không đúng ý bạn):</b>"
UNMENTIONED = "Các văn bản đã nạp không nhắc đến {words}."
MISSING_DOCUMENTS = "Văn bản {docs} chưa được nạp vào hệ thống."
SUPERSEDED_WARNING = "⚠️ Văn bản {number} đã được thay thế bởi văn bản {replaced_by}; nên tra cứu văn bản mới."
SUPERSEDED_WARNING_UNKNOWN = "⚠️ Văn bản {number} đã được thay thế; nên tra cứu văn bản còn hiệu lực."
SAMPLE_MARK = " <i>(văn bản mẫu)</i>"
NOT_FOUND = (
    "Tôi chưa tìm thấy quy định nào phù hợp với câu hỏi trong các văn bản đã nạp.\n"
    "Bạn có thể diễn đạt lại câu hỏi, hoặc bấm <b>«Chuyển cho Ban Tổ chức»</b> để cán bộ Ban Tổ chức trả lời."
)
BUTTON_FULL_ARTICLE = "📖 Xem toàn văn {label}"
BUTTON_LIKE = "👍 Hữu ích"
BUTTON_DISLIKE = "👎 Chưa đúng"
BUTTON_HANDOFF = "📨 Chuyển cho Ban Tổ chức"
FEEDBACK_SAVED = "Cảm ơn bạn đã góp ý!"
FEEDBACK_CHANGED = "Đã cập nhật góp ý của bạn."
FEEDBACK_UNCHANGED = "Bạn đã góp ý cho câu trả lời này rồi."
# Sent after the asker's 👎 on an answer that quoted a text (it had no hand-off button): the button is below.
FEEDBACK_HANDOFF_OFFER = (
    "Xin lỗi vì câu trả lời chưa đúng ý. Nếu cần cán bộ Ban Tổ chức trả lời trực tiếp, bấm <b>«{button}»</b>."
)
ANSWER_EXPIRED = "Câu trả lời này không còn trong hệ thống. Vui lòng hỏi lại."
ARTICLE_NOT_AVAILABLE = "Điều này không còn trong kho văn bản (có thể văn bản đã bị gỡ). Vui lòng hỏi lại."
ARTICLE_HEADER = "📖 <b>{label}</b>"
# The article's own heading as the title (printed once), the document on the line below.
ARTICLE_HEADER_NAMED = "📖 <b>{heading}</b>\n{document}"
HANDOFF_SENT = "📨 Đã chuyển câu hỏi cho cán bộ Ban Tổ chức. Khi có trả lời, bot sẽ gửi lại cho bạn."
HANDOFF_ALREADY = "Câu hỏi này đã được chuyển cho Ban Tổ chức rồi, vui lòng chờ trả lời."
HANDOFF_NO_STAFF = "Hiện chưa có cán bộ Ban Tổ chức nào dùng bot. Câu hỏi đã được lưu; bạn cũng có thể liên hệ trực tiếp <b>{support}</b>."
HANDOFF_TO_STAFF = "❓ <b>Câu hỏi chuyển đến Ban Tổ chức</b> (số {id}) từ {asker}:\n\n{question}"
BUTTON_STAFF_REPLY = "✍️ Trả lời"
STAFF_REPLY_PROMPT = "Vui lòng gõ câu trả lời cho câu hỏi số {id}:\n\n<i>{question}</i>\n\n(Gõ /huy để hủy.)"
STAFF_REPLY_SENT = "✅ Đã gửi câu trả lời cho người hỏi (câu hỏi số {id})."
STAFF_REPLY_ALREADY = "Câu hỏi số {id} đã được trả lời rồi."
# Who answered and when (local time); plain text in a button's alert, escaped HTML in a message.
STAFF_REPLY_ALREADY_BY = "Câu hỏi số {id} đã được trả lời rồi: {staff} trả lời lúc {when}."
HANDOFF_ANSWERED_COPY = (
    "❓ <b>Câu hỏi chuyển đến Ban Tổ chức</b> (số {id}) từ {asker}:\n\n{question}\n\n"
    "✅ <b>Đã được trả lời</b>: {staff} trả lời lúc {when}."
)
STAFF_SOMEONE = "một cán bộ Ban Tổ chức"
ANSWERED_AT_FORMAT = "%H:%M ngày %d/%m/%Y"
STAFF_REPLY_EMPTY = "Câu trả lời đang trống. Vui lòng gõ nội dung trả lời, hoặc /huy để hủy."
REPLY_TO_ASKER = "💬 <b>Ban Tổ chức trả lời câu hỏi của bạn</b>:\n<i>{question}</i>\n\n{reply}"
OPEN_HANDOFFS_HEADER = "<b>Câu hỏi đang chờ trả lời:</b>"
OPEN_HANDOFFS_NONE = "Không có câu hỏi nào đang chờ trả lời."
ASKER_ANONYMOUS = "một người dùng"
WORKING = "⏳ Đang tra cứu…"
QA_UNAVAILABLE = "Xin lỗi, chưa tra cứu được lúc này: {reason}"
FEEDBACK_REPORT = "<b>Góp ý về câu trả lời:</b> 👍 {up} — 👎 {down}"
FEEDBACK_DISLIKED_HEADER = "<b>Các câu hỏi bị đánh giá 👎 gần đây</b> (nên bổ sung văn bản hoặc trả lời lại):"
FEEDBACK_DISLIKED_ITEM = "• {question} <i>({when})</i>"

# --- Documents (admin) ----------------------------------------------------------------------------
UPLOAD_RECEIVED = "⏳ Đã nhận tệp <b>{name}</b>. Đang tải xuống…"
UPLOAD_PROCESSING = "⏳ Đang đọc và phân tích <b>{name}</b>…"
UPLOAD_INDEXING = "⏳ Đang lập chỉ mục <b>{name}</b>…"
UPLOAD_ADDED = "✅ Đã nạp văn bản từ tệp <b>{name}</b>:"
UPLOAD_UPDATED = "✅ Đã cập nhật văn bản từ tệp <b>{name}</b> (thay nội dung cũ):"
UPLOAD_UNCHANGED = "ℹ️ Tệp <b>{name}</b> không thay đổi so với lần nạp trước; không cần nạp lại."
UPLOAD_REFUSED = "❌ Không nạp được tệp <b>{name}</b>: {reason}"
UPLOAD_UNSUPPORTED = "❌ Tệp <b>{name}</b> không đúng định dạng. Văn bản: PDF, DOCX, TXT, MD, HTML; danh sách cán bộ: CSV, XLSX."
UPLOAD_TOO_LARGE = "❌ Tệp <b>{name}</b> quá lớn ({size} MB). Giới hạn là {limit} MB: vui lòng tách thành nhiều tệp nhỏ hơn rồi gửi lại."
UPLOAD_UNPACKED_TOO_LARGE = "❌ Tệp <b>{name}</b> khi giải nén lớn bất thường (có thể bị hỏng hoặc độc hại) nên không được nạp. Vui lòng mở bằng Word, lưu lại rồi gửi lại."
UPLOAD_NOT_ADMIN = (
    "Chỉ quản trị viên mới được nạp văn bản và danh sách cán bộ. Nếu cần, vui lòng liên hệ <b>{support}</b>."
)
UPLOAD_DOWNLOAD_FAILED = "❌ Không tải được tệp <b>{name}</b> từ Telegram. Vui lòng gửi lại."
DOC_LINE_NUMBER = "Số: <b>{number}</b>"
DOC_LINE_ISSUED = "Ngày ban hành: {issued}"
DOC_LINE_ARTICLES = "Số điều/mục: {articles}; số đoạn lập chỉ mục: {chunks}"
DOC_LINE_RELATION = "Quan hệ: {kind} {target}"
DOC_LINE_STATUS_SUPERSEDED = "Tình trạng: ⚠️ đã bị thay thế bởi {replaced_by}"
DOC_LINE_STATUS_IN_FORCE = "Tình trạng: còn hiệu lực"
RELATION_NAMES: dict[str, str] = {"replaces": "thay thế", "amends": "sửa đổi, bổ sung", "guides": "hướng dẫn"}
DOC_NO_NUMBER = "(không rõ số)"
DOC_NO_DATE = "(không rõ ngày)"
DOCS_HEADER = "<b>Văn bản đã nạp ({count}):</b>"
DOCS_NONE = "Chưa có văn bản nào được nạp."
DOCS_ITEM = "{index}. <b>{number}</b> — {title} ({issued}) — {status}{sample}"
DOC_STATUS_IN_FORCE = "còn hiệu lực"
DOC_STATUS_SUPERSEDED = "đã bị thay thế bởi {replaced_by}"
DOCS_ADMIN_HINT = "Bấm nút bên dưới để đánh dấu văn bản bị thay thế hoặc gỡ văn bản."
# Documents an older version indexed whose citations may be wrong until their file is loaded again
# (retrieval.upgrades reason codes). Plain text: also printed by `canbo docs` and `canbo health`.
DOC_RELOAD_REASONS = {
    "attachment_labels": (
        "được nạp bằng phiên bản cũ của phần mềm, khi chưa ghi riêng tên từng văn bản ban hành kèm theo "
        "(Quy định, Hướng dẫn… kèm theo Quyết định): nếu quyết định ban hành nhiều văn bản, trích dẫn có thể "
        "ghi nhầm tên văn bản kèm theo và gộp các điều cùng số của các văn bản đó"
    ),
}
DOC_RELOAD_REASON_OTHER = "được nạp bằng phiên bản cũ của phần mềm, trích dẫn có thể chưa đúng"
DOCS_RELOAD_HEADER = "⚠️ <b>Cần nạp lại {count} văn bản</b> (tệp gốc không được lưu nên phải gửi lại từ tệp):"
DOCS_RELOAD_ITEM = (
    "• <b>{label}</b> — tệp «{source}»: {reason}. Gửi lại đúng tệp đó cho bot (hoặc chạy "
    "<code>canbo ingest TỆP</code>); văn bản cũ được thay thế, không bị nhân đôi."
)
DOCS_RELOAD_ITEM_SAMPLE = (
    "• <b>{label}</b> (văn bản mẫu): {reason}. Chạy <code>canbo ingest --samples</code> để nạp lại các văn bản "
    "mẫu; văn bản cũ được thay thế, không bị nhân đôi."
)
BUTTON_DOC_REPLACE = "⚠️ {index}. Bị thay thế"
BUTTON_DOC_REMOVE = "🗑 {index}. Gỡ"
BUTTON_CONFIRM_REMOVE = "🗑 Xác nhận gỡ"
BUTTON_CANCEL = "Hủy"
DOC_REMOVE_CONFIRM = "Gỡ văn bản <b>{number}</b> — {title}? Văn bản sẽ không còn xuất hiện trong câu trả lời."
DOC_REMOVED = "🗑 Đã gỡ văn bản <b>{number}</b>."
DOC_GONE = "Văn bản này không còn trong kho (có thể đã được gỡ)."
DOC_REPLACE_PROMPT = (
    "Văn bản <b>{number}</b> bị thay thế bởi văn bản nào? Vui lòng gõ số văn bản mới, ví dụ <code>65-QĐ/TW</code>. "
    "(Gõ /huy để hủy.)"
)
DOC_REPLACE_BAD = (
    "Số văn bản không hợp lệ. Vui lòng gõ số văn bản, ví dụ <code>65-QĐ/TW</code>, hoặc /huy để hủy."
)
DOC_REPLACED = "⚠️ Đã đánh dấu văn bản <b>{number}</b> bị thay thế bởi <b>{replaced_by}</b>."
ACTION_CANCELLED = "Đã hủy."

# --- Roster (admin) -------------------------------------------------------------------------------
ROSTER_RECEIVED = "⏳ Đang nhập danh sách cán bộ từ <b>{name}</b>…"
ROSTER_OK = "✅ Đã nhập danh sách cán bộ từ <b>{name}</b>: {summary}"
ROSTER_REJECTED = (
    "❌ Danh sách <b>{name}</b> có lỗi nên <b>chưa nhập dòng nào</b>. Vui lòng sửa các dòng sau rồi gửi lại:"
)
ROSTER_ROW_ERROR = "• Dòng {row}: {message}"
ROSTER_MORE_ERRORS = "… và {count} lỗi khác."

# --- Generic errors -------------------------------------------------------------------------------
INCIDENT = "Xin lỗi, đã có lỗi xảy ra khi xử lý yêu cầu của bạn. Mã sự cố: <code>{incident}</code>. Vui lòng thử lại sau ít phút."
# Sent after a restart to a chat whose message was being handled when Telegram refused the bot's token (revoked
# in @BotFather a moment before): the reply could not be sent; what the message did may already be saved.
UNANSWERED_AFTER_TOKEN_CHANGE = (
    "⚠️ Tin nhắn bạn gửi lúc {when} chưa được trả lời vì bot đang được đổi khóa truy cập. "
    "Thao tác của tin nhắn đó (nếu có, ví dụ lưu một việc) có thể đã được ghi nhận: xem lại "
    "(ví dụ /kehoach, /danhgia) rồi gửi lại nếu cần."
)
UNSUPPORTED_MESSAGE = "Tôi chưa hiểu loại tin nhắn này. Vui lòng gửi câu hỏi bằng chữ, hoặc gõ /trogiup."
CONTROL_CHARACTERS = "Tin nhắn có ký tự điều khiển không hiển thị được (ví dụ ký tự NUL) nên chưa được xử lý. Vui lòng gõ lại nội dung rồi gửi lại."
MESSAGE_TOO_LONG = "Tin nhắn quá dài (tối đa {limit} ký tự). Vui lòng rút gọn và gửi lại."
BUTTON_EXPIRED = "Nút này đã hết hiệu lực. Vui lòng thực hiện lại."
DUPLICATE_ACTION = "Thao tác này đã được thực hiện rồi."
SERVICE_BUSY = "Hệ thống đang bận, vui lòng thử lại sau ít phút."

# Stable error codes of the lower packages (KnowledgeError / RetrievalError / RecordsError `code`) → wording.
ERROR_CODES: dict[str, str] = {
    # knowledge
    "knowledge": "không đọc được văn bản. Vui lòng kiểm tra tệp rồi gửi lại.",
    "unsupported_format": "định dạng tệp không được hỗ trợ (chỉ nhận PDF, DOCX, TXT, MD, HTML).",
    "file_too_large": "tệp quá lớn so với giới hạn cho phép. Vui lòng tách nhỏ hoặc nén lại.",
    "unpacked_too_large": "tệp Word khi giải nén lớn bất thường (có thể bị hỏng hoặc độc hại) nên không được nạp. Vui lòng mở bằng Word, lưu lại rồi gửi lại.",
    "unreadable": "tệp bị hỏng, bị mã hóa hoặc không đọc được. Vui lòng lưu lại tệp (hoặc xuất lại PDF) rồi gửi lại.",
    "no_text": "tệp không có lớp chữ (có thể là bản quét ảnh). Vui lòng gửi bản có chữ (DOCX hoặc PDF xuất từ Word).",
    "empty": "tệp không có nội dung. Vui lòng kiểm tra lại.",
    "classified": "văn bản có đóng dấu MẬT/TỐI MẬT/TUYỆT MẬT nên không được nạp vào hệ thống.",
    # retrieval
    "retrieval": "không xử lý được yêu cầu tra cứu. Vui lòng thử lại.",
    "embedding_mismatch": "chỉ mục được lập bằng mô hình khác; quản trị viên cần chạy <code>canbo reindex</code>.",
    "embedding_unavailable": "mô hình tìm kiếm chưa sẵn sàng; vui lòng báo quản trị viên.",
    "document_not_found": "không tìm thấy văn bản này (có thể đã được gỡ).",
    "index_unavailable": "kho văn bản tạm thời không truy cập được; vui lòng thử lại sau.",
    "chunk_not_found": "không tìm thấy đoạn văn bản này (có thể văn bản đã được gỡ hoặc nạp lại).",
    "empty_question": "câu hỏi đang trống; vui lòng gõ nội dung câu hỏi.",
    "nothing_to_index": "tệp không có điều, khoản hay đoạn nội dung nào để lập chỉ mục.",
    # records
    "records": "không xử lý được dữ liệu cán bộ. Vui lòng thử lại.",
    "not_found": "không tìm thấy dữ liệu yêu cầu.",
    "permission_denied": "bạn không có quyền thực hiện thao tác này.",
    "invalid_transition": "trạng thái hiện tại không cho phép thao tác này.",
    "concurrent_update": "người khác vừa thực hiện thao tác này trước bạn; vui lòng xem lại.",
    "lease_lost": "việc định kỳ đã được một tiến trình bot khác tiếp nhận; không cần làm gì thêm.",
    "validation": "dữ liệu chưa hợp lệ; vui lòng kiểm tra lại.",
    "rules_invalid": "tệp cấu hình quy tắc đánh giá không hợp lệ; vui lòng báo quản trị viên.",
    "import_rejected": "danh sách cán bộ có lỗi nên chưa nhập dòng nào.",
    "quota_exceeded": "vượt tỷ lệ tối đa cho mức xếp loại này; vui lòng điều chỉnh.",
    "already_linked": "tài khoản Telegram này đã được liên kết với một người khác.",
    "invite_invalid": "mã mời không đúng.",
    "invite_expired": "mã mời đã hết hạn; vui lòng xin mã mới.",
    "invite_used": "mã mời đã được sử dụng; vui lòng xin mã mới.",
}
ERROR_CODE_FALLBACK = "không xử lý được yêu cầu. Vui lòng thử lại hoặc liên hệ quản trị viên."


def format_decimal(value: float, places: int = 1) -> str:
    """A number as Vietnamese writes it: a decimal comma, no trailing zero («25,3», «21»), never «25.3»."""
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def upload_size_mb(size_bytes: int) -> str:
    """An upload's size in MB for UPLOAD_TOO_LARGE («25,3»)."""
    return format_decimal(size_bytes / 1024 / 1024)


def describe_error(code: str | None) -> str:
    """The Vietnamese reason for a lower package's stable error code."""
    return ERROR_CODES.get(code or "", ERROR_CODE_FALLBACK)


# --- An evaluation rules file refused (canbo run, canbo rules check, due, report, rotation) -------------
RULES_BAD = (
    "Tệp quy tắc đánh giá không hợp lệ: {problem} Sửa tệp rồi kiểm tra lại bằng: canbo rules check TỆP"
)
RULES_UNREADABLE = "không đọc được tệp {source} ({reason})."
RULES_NOT_TOML = "tệp {source} sai cú pháp TOML ({reason})."
RULES_FIELD = "{source}: {field} {what}{value}."
RULES_ENTRY = "mục «{key}»"
RULES_IN_TABLE = "mục «{key}» của khối [[{table}]] thứ {n}"
RULES_TOML_AT = "ở dòng {line}, cột {column}"
RULES_FILE_ERRORS = {
    2: "không có tệp này",
    13: "không có quyền đọc tệp",
    21: "đây là thư mục, không phải tệp",
}
RULES_VALUE = " (đang là «{value}»)"
# pydantic's error types → what the value must be; `{…}` are the limits it reports.
RULES_PROBLEMS = {
    "literal_error": "phải là một trong các giá trị {expected}",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "greater_than": "phải lớn hơn {gt}",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "less_than": "phải nhỏ hơn {lt}",
    "extra_forbidden": "không phải mục được biết (viết sai tên?)",
    "missing": "còn thiếu",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "float_parsing": "phải là số",
    "float_type": "phải là số",
    "string_type": "phải là chữ trong ngoặc kép",
    "bool_type": "phải là true hoặc false",
    "bool_parsing": "phải là true hoặc false",
    "too_short": "không được để trống",
    "list_type": "phải là danh sách",
    "dict_type": "phải là một bảng [..]",
}
RULES_PROBLEM_OTHER = "không hợp lệ ({message})"


def describe_rules_problem(exc: Exception) -> str:
    """The Vietnamese line for a refused rules file: which entry, what it must be, what it holds."""
    params: dict[str, Any] = dict(getattr(exc, "params", {}) or {})
    source = str(params.get("source", "")) or "tệp quy tắc"
    kind = str(params.get("kind", ""))
    if kind == "unreadable":
        reason = RULES_FILE_ERRORS.get(int(params.get("errno", 0) or 0), str(params.get("reason", "")))
        problem = RULES_UNREADABLE.format(source=source, reason=reason)
    elif kind == "toml":
        reason = str(params.get("reason", ""))
        at = re.search(r"at line (\d+), column (\d+)", reason)
        shown = RULES_TOML_AT.format(line=at.group(1), column=at.group(2)) if at else reason
        problem = RULES_NOT_TOML.format(source=source, reason=shown)
    elif "field" in params and kind:
        limits = {k: str(v).replace(" or ", " hoặc ") for k, v in dict(params.get("limits") or {}).items()}
        template = RULES_PROBLEMS.get(kind)
        try:
            what = template.format(**limits) if template else ""
        except KeyError:
            what = ""
        what = what or RULES_PROBLEM_OTHER.format(message=params.get("message", kind))
        value = params.get("value")
        shown = RULES_VALUE.format(value=value) if value is not None and kind != "missing" else ""
        path = str(params["field"]).split(".")
        field = RULES_ENTRY.format(key=".".join(path))
        if len(path) == 3 and path[1].isdigit():  # quotas.0.rounding: the first [[quotas]] block's rounding
            field = RULES_IN_TABLE.format(key=path[2], table=path[0], n=int(path[1]) + 1)
        problem = RULES_FIELD.format(source=source, field=field, what=what, value=shown)
    else:
        problem = f"{getattr(exc, 'detail', '') or exc}."
    return RULES_BAD.format(problem=problem)


# --- Citation labels (assembled by bot.render) ----------------------------------------------------
CITE_POINT = "điểm {point}"
CITE_CLAUSE = "khoản {clause}"
CITE_ARTICLE = "Điều {article}"
CITE_SECTION = "mục {article}"
CITE_DOC_WITH_NUMBER = "{doc_type} số {number}"
CITE_DOC_NO_NUMBER = "{doc_type} {title}"
CITE_DOC_DEFAULT_TYPE = "Văn bản"
CITE_DATE = "ngày {date}"
CITE_ATTACHMENT = "{attachment} (ban hành kèm theo {doc})"
CITE_ATTACHMENT_DEFAULT_TYPE = "QUY ĐỊNH"
CITE_ITEM = "{index}. {where} {doc}{sample}"

# Roster row issues (records.roster.RowIssue.code) → wording; {column} and {value} are escaped by the caller.
ROSTER_ISSUES: dict[str, str] = {
    "missing_column": "thiếu cột «{column}»",
    "missing_value": "cột «{column}» để trống",
    "duplicate_code": "mã cán bộ «{value}» bị trùng",
    "duplicate_phone": "số điện thoại «{value}» bị trùng",
    "phone_taken": "số điện thoại «{value}» đã thuộc về một người khác",
    "bad_phone": "số điện thoại «{value}» không hợp lệ (dạng 0xxxxxxxxx hoặc +84xxxxxxxxx)",
    "unknown_unit": "mã đơn vị «{value}» chưa có (thêm «{column}» để tạo mới)",
    "unknown_parent": "đơn vị cấp trên «{value}» không tồn tại",
    "unit_conflict": "đơn vị «{value}» được khai báo khác nhau ở các dòng",
    "unit_cycle": "đơn vị «{value}» tạo thành vòng lặp cấp trên",
    "unknown_manager": "mã người quản lý «{value}» không tồn tại",
    "self_manager": "người quản lý không được là chính người đó",
    "manager_cycle": "quan hệ người quản lý bị vòng lặp («{value}»)",
    "unknown_role": "vai trò «{value}» không hợp lệ (cán bộ, người nhận xét, thủ trưởng, chuyên viên, quản trị)",
    "unknown_scope": "phạm vi «{value}» không phải mã đơn vị đã có",
    "empty_file": "tệp không có dòng dữ liệu nào",
    "too_many_rows": "tệp có quá nhiều dòng (tối đa {value} người mỗi tệp): vui lòng chia thành nhiều tệp",
    "unpacked_too_large": "tệp XLSX khi giải nén lớn bất thường (quá nhiều dữ liệu, hoặc tệp hỏng hay độc hại): mỗi tệp tối đa 50.000 người; vui lòng chia nhỏ, hoặc mở bằng Excel, lưu lại rồi gửi lại",
    "bad_encoding": "tệp CSV không ở bảng mã UTF-8 hay Windows-1258: vui lòng mở bằng Excel, lưu lại dạng «CSV UTF-8» rồi gửi lại",
    "unreadable": "không đọc được tệp (hỏng hoặc không đúng định dạng): vui lòng mở bằng Excel, lưu lại dạng XLSX hoặc CSV UTF-8 rồi gửi lại",
    "bad_format": "định dạng tệp không được hỗ trợ (chỉ nhận CSV, XLSX)",
}
ROSTER_ISSUE_FALLBACK = "dữ liệu không hợp lệ ({code})"
ROSTER_SUMMARY = "{rows} dòng; thêm {created}, cập nhật {updated}, không đổi {unchanged} người; thêm {units} đơn vị; cấp {roles} vai trò."


def roster_counts(report: Any) -> str:
    """ROSTER_SUMMARY filled from a records.roster.RosterReport (the bot's and the CLI's wording)."""
    return ROSTER_SUMMARY.format(
        rows=report.rows,
        created=report.people_created,
        updated=report.people_updated,
        unchanged=report.people_unchanged,
        units=report.units_created,
        roles=report.roles_granted,
    )


# --- Roster re-import: authoritative for its units, confirmed when it takes something away -----------------
ROSTER_ISSUES.update(
    {
        "last_admin": "sau khi nhập sẽ không còn ai có vai trò quản trị («{value}» là quản trị viên cuối cùng); "
        "giữ «quản trị» trong cột «Vai trò» của ít nhất một người",
        "self_deactivation": "bạn («{value}») không có trong danh sách đơn vị của mình nên sẽ bị ngừng kích hoạt; "
        "thêm dòng của bạn vào tệp",
        "self_admin_revoked": "tệp bỏ vai trò quản trị của chính bạn («{value}»); "
        "thêm «quản trị» vào cột «Vai trò» ở dòng của bạn",
    }
)
ROSTER_SUMMARY_REACTIVATED = "Kích hoạt lại {count} người."
ROSTER_SUMMARY_DEACTIVATED = "Ngừng kích hoạt {count} người không còn trong danh sách."
ROSTER_SUMMARY_REVOKED = "Thu hồi {count} vai trò."
ROSTER_NOT_YOURS = "❌ Danh sách <b>{name}</b> có đơn vị hoặc phạm vi nằm ngoài quyền quản trị của bạn nên chưa nhập dòng nào."
ROSTER_PREVIEW_HEADER = (
    "⚠️ Danh sách <b>{name}</b> được coi là đầy đủ cho các đơn vị có trong tệp. Nếu áp dụng:"
)
ROSTER_PREVIEW_DEACTIVATE = (
    "• <b>Ngừng kích hoạt {count} người</b> không còn trong danh sách "
    "(thu hồi vai trò, đăng xuất Telegram, hủy mã mời chưa dùng; lịch sử vẫn giữ):"
)
ROSTER_PREVIEW_NAME = "   – {name}"
ROSTER_PREVIEW_MORE = "   … và {count} người khác."
ROSTER_PREVIEW_REVOKE = "• <b>Thu hồi {count} vai trò</b> không còn ghi trong cột «Vai trò»."
ROSTER_PREVIEW_ALSO = (
    "• Ngoài ra: thêm {created}, cập nhật {updated}, kích hoạt lại {reactivated} người; cấp {roles} vai trò."
)
ROSTER_PREVIEW_KEPT = "• Giữ nguyên {count} vai trò có phạm vi ngoài quyền quản trị của bạn."
ROSTER_PREVIEW_ASK = (
    "\nBấm <b>«Áp dụng»</b> để nhập đầy đủ như trên, <b>«Chỉ bổ sung»</b> để chỉ thêm và cập nhật "
    "(không ngừng kích hoạt, không thu hồi ai), hoặc <b>«Hủy»</b>."
)
BUTTON_ROSTER_APPLY = "✅ Áp dụng"
BUTTON_ROSTER_ADD_ONLY = "➕ Chỉ bổ sung"
ROSTER_APPLIED = "✅ Đã áp dụng danh sách cán bộ: {summary}"
ROSTER_APPLIED_ADD_ONLY = (
    "✅ Đã bổ sung danh sách cán bộ (không ngừng kích hoạt, không thu hồi ai): {summary}"
)
ROSTER_CANCELLED = "Đã hủy, danh sách cán bộ không thay đổi."
ROSTER_PREVIEW_GONE = "Bản xem trước này đã bị hủy hoặc đã được thay bằng tệp gửi sau."
ROSTER_PREVIEW_EXPIRED = "Bản xem trước đã hết hạn (quá 24 giờ). Vui lòng gửi lại tệp danh sách."
ROSTER_PREVIEW_NOT_YOURS = "Chỉ người đã gửi tệp danh sách này mới được áp dụng hoặc hủy."
ROSTER_REJECTED_NOW = (
    "❌ Dữ liệu đã thay đổi từ lúc xem trước nên danh sách không còn hợp lệ; <b>chưa nhập dòng nào</b>. "
    "Vui lòng sửa các dòng sau rồi gửi lại:"
)
NOT_ON_ROSTER = (
    "Bạn không còn trong danh sách cán bộ nên không thể đăng nhập. "
    "Nếu có nhầm lẫn, vui lòng liên hệ <b>{support}</b>."
)
ROSTER_FILE_ERROR = "• {message}"
ROSTER_PREVIEW_BLOCKED = "⚠️ Không thể coi <b>{name}</b> là danh sách đầy đủ của các đơn vị trong tệp vì:"
ROSTER_PREVIEW_ASK_ADD_ONLY = (
    "\nBấm <b>«Chỉ bổ sung»</b> để chỉ thêm và cập nhật những người có trong tệp "
    "(không ngừng kích hoạt, không thu hồi ai), hoặc <b>«Hủy»</b>."
)
