"""Every Vietnamese string of the workflow features: plan, self-assessment, review, decision, summary, reminders.

Placeholders are filled with values ALREADY HTML-escaped by the caller (bot.messages.escape).
"""

from __future__ import annotations

COMMAND_DESCRIPTIONS: dict[str, str] = {
    "kehoach": "Đăng ký, sửa kế hoạch công việc trong tháng",
    "danhgia": "Tự đánh giá, chấm điểm và gửi kết quả tháng",
    "ketqua": "Kết quả đánh giá của tôi và lịch sử hồ sơ",
    "duyet": "Hồ sơ đang chờ tôi nhận xét hoặc quyết định",
    "tonghop": "Tổng hợp kết quả đánh giá (ví dụ: /tonghop 2026-10 BD; cả năm: /tonghop 2026)",
}
HELP_WORKFLOWS = (
    "Đánh giá hằng tháng: /kehoach đăng ký việc → /danhgia tự đánh giá và gửi → "
    "người quản lý nhận xét (/duyet) → thủ trưởng quyết định xếp loại."
)

# --- Shared -----------------------------------------------------------------------------------------
STATE_NAMES: dict[str, str] = {
    "draft": "đang soạn",
    "submitted": "đã gửi, chờ nhận xét",
    "returned": "bị trả lại để sửa",
    "reviewed": "đã nhận xét, chờ thủ trưởng quyết định",
    "decided": "đã quyết định (đã khóa)",
}
RESULT_NAMES: dict[str, str] = {
    "on_time": "✅ Hoàn thành đúng hạn",
    "late": "⏰ Hoàn thành nhưng trễ hạn",
    "not_done": "❌ Không hoàn thành",
}
RESULT_NONE = "▫️ chưa đánh giá"
LATE_MARK = " ⏰ <b>(nộp muộn)</b>"
PAST_DEADLINE = (
    "⚠️ Đã quá hạn tự đánh giá ({deadline}): bạn vẫn gửi được nhưng hồ sơ sẽ bị đánh dấu <b>nộp muộn</b>."
)
BAD_PERIOD = (
    "Kỳ «{value}» không hợp lệ. Vui lòng gõ kỳ dạng <code>{example}</code> (năm-tháng), "
    "hoặc bỏ trống để dùng kỳ hiện tại."
)
# A prompt waiting for one message (a reason, a comment, a number): nothing of it exists before it is sent.
CANCEL_HINT = "(Gõ /huy để dừng.)"
# A step of a form whose earlier answers are already written to the records draft (plan, self-assessment).
FORM_CANCEL_HINT = "(Gõ /huy để dừng; phần đã nhập vẫn được lưu.)"
RECORD_GONE = "Hồ sơ này không còn hoặc bạn không có quyền xem. Vui lòng mở lại bằng lệnh."
STALE = "Hồ sơ vừa được thay đổi (bởi bạn ở máy khác hoặc người khác). Đây là nội dung mới nhất:"
ERROR_PREFIX = "❌ "
BUTTON_BACK = "⬅️ Quay lại"
BUTTON_SKIP = "Bỏ qua"

# --- /kehoach -----------------------------------------------------------------------------------------
PLAN_HEADER = (
    "🗓 <b>Kế hoạch công việc kỳ {period}</b> — {name}\nHạn đăng ký: {deadline}. Trạng thái: {state}."
)
PLAN_EMPTY = "Chưa có việc nào. Bấm «➕ Thêm việc» để đăng ký."
PLAN_ITEM = "{index}. <b>{title}</b>{expected}{deadline}{copied}"
PLAN_ITEM_EXPECTED = "\n   Kết quả dự kiến: {expected}"
PLAN_ITEM_DEADLINE = "\n   Hạn: {deadline}"
PLAN_ITEM_COPIED = " <i>(chép từ kỳ trước)</i>"
PLAN_LOCKED = "Kế hoạch kỳ này không sửa được nữa vì hồ sơ {state}."
BUTTON_PLAN_ADD = "➕ Thêm việc"
BUTTON_PLAN_DELETE = "🗑 Xóa việc {index}"
BUTTON_PLAN_COPY = "📋 Chép việc chưa xong kỳ trước"
BUTTON_PLAN_DONE = "✅ Xong"
PLAN_ASK_TASK = (
    "Gõ một việc theo mẫu:\n<code>Tên việc | Kết quả dự kiến | Hạn (ngày/tháng)</code>\n"
    "Ví dụ: <code>Báo cáo sơ kết quý | Báo cáo trình Thường trực | 25/11</code>\n"
    "Chỉ tên việc là bắt buộc. " + FORM_CANCEL_HINT
)
PLAN_TASK_EMPTY = (
    "Tên việc đang trống. Vui lòng gõ lại theo mẫu <code>Tên việc | Kết quả dự kiến | Hạn</code>."
)
PLAN_TASK_TOO_LONG = "Tên việc dài quá {limit} ký tự (bạn gõ {length}). Vui lòng rút gọn."
PLAN_EXPECTED_TOO_LONG = "Kết quả dự kiến dài quá {limit} ký tự. Vui lòng rút gọn."
PLAN_BAD_DATE = (
    "Hạn «{value}» không đúng. Vui lòng gõ ngày/tháng (ví dụ <code>25/11</code>) "
    "hoặc ngày/tháng/năm (ví dụ <code>25/11/2026</code>)."
)
PLAN_DATE_OUTSIDE = "Hạn {value} nằm ngoài kỳ {period} ({start} – {end}). Vui lòng chọn hạn trong kỳ."
PLAN_TOO_MANY = "Kế hoạch đã có tối đa {limit} việc. Vui lòng xóa bớt trước khi thêm."
PLAN_ADDED = "✅ Đã lưu việc «{title}». Gõ tiếp việc khác theo mẫu, hoặc bấm «✅ Xong»."
PLAN_COPIED = "📋 Đã chép {count} việc chưa hoàn thành từ kỳ trước."
PLAN_COPIED_NONE = "Kỳ trước không có việc nào chưa hoàn thành để chép."
PLAN_DONE = "✅ Đã lưu kế hoạch kỳ {period} ({count} việc). Cuối kỳ, dùng /danhgia để tự đánh giá."
PLAN_DONE_EMPTY = "Kế hoạch chưa có việc nào. Bấm «➕ Thêm việc» để đăng ký ít nhất một việc."
PLAN_SENT = "📤 Đã gửi kế hoạch cho người quản lý: {reviewers}."
PLAN_UNCHANGED = "Kế hoạch không thay đổi so với bản đã gửi người quản lý nên không gửi lại."
PLAN_NOBODY = "Danh sách cán bộ chưa ghi người quản lý trực tiếp của bạn nên kế hoạch chưa được gửi cho ai."
PLAN_CHANGE_PENDING = "↩️ <b>Người quản lý đề nghị sửa kế hoạch:</b> <i>{reason}</i>"
BUTTON_PLAN_OPEN = "🗓 Xem kế hoạch"
BUTTON_PLAN_EDIT = "✏️ Sửa kế hoạch"

# --- The plan at the direct manager ------------------------------------------------------------------------
NOTIFY_PLAN = "🗓 <b>{name}</b> ({code}) đăng ký kế hoạch công việc kỳ {period} ({count} việc):"
NOTIFY_PLAN_UPDATE = "🗓 <b>{name}</b> ({code}) đã sửa kế hoạch công việc kỳ {period} ({count} việc):"
BUTTON_PLAN_COMMENT = "💬 Góp ý"
BUTTON_PLAN_CHANGE = "↩️ Đề nghị sửa"
PLAN_ASK_COMMENT = (
    "Gõ góp ý cho kế hoạch kỳ {period} của {name} (tối đa {limit} ký tự; được lưu vào lịch sử hồ sơ). "
    + CANCEL_HINT
)
PLAN_ASK_CHANGE = (
    "Gõ lý do đề nghị {name} sửa kế hoạch kỳ {period} (bắt buộc, tối đa {limit} ký tự). " + CANCEL_HINT
)
PLAN_FEEDBACK_EMPTY = "Nội dung đang trống hoặc dài quá {limit} ký tự. Vui lòng gõ lại, hoặc /huy để hủy."
PLAN_COMMENT_SENT = "✅ Đã gửi góp ý cho {name} (kế hoạch kỳ {period}); góp ý được lưu vào lịch sử hồ sơ."
PLAN_CHANGE_SENT = (
    "✅ Đã đề nghị {name} sửa kế hoạch kỳ {period}. Khi sửa xong, kế hoạch mới sẽ được gửi lại cho bạn."
)
PLAN_CHANGE_ALREADY = (
    "Kế hoạch kỳ {period} của {name} đã được đề nghị sửa rồi (lý do: <i>{reason}</i>); đang chờ cán bộ sửa."
)
PLAN_CHANGED_SINCE = "Kế hoạch này đã được {name} sửa sau thông báo bạn vừa bấm. Đây là kế hoạch mới nhất:"
PLAN_NOT_EDITABLE = "Kế hoạch kỳ {period} của {name} không sửa được nữa vì hồ sơ {state}."
NOTIFY_PLAN_COMMENT = "💬 Người quản lý {reviewer} góp ý kế hoạch kỳ {period} của bạn:\n<i>{comment}</i>"
NOTIFY_PLAN_CHANGE = (
    "↩️ Người quản lý {reviewer} đề nghị bạn sửa kế hoạch kỳ {period}.\nLý do: <i>{reason}</i>\n"
    "Bấm «✏️ Sửa kế hoạch» (hoặc /kehoach {period}), sửa xong bấm «✅ Xong» để gửi lại."
)

# --- /danhgia -------------------------------------------------------------------------------------------
SELF_HEADER = "📝 <b>Tự đánh giá kỳ {period}</b> — {name}\nTrạng thái: {state}{late}"
SELF_DEADLINE = "Hạn gửi: {deadline}."
SELF_NO_PLAN = "Bạn chưa đăng ký kế hoạch kỳ {period}. Vui lòng dùng /kehoach {period} để đăng ký việc trước."
SELF_TASKS_HEADER = "<b>Công việc:</b>"
SELF_TASK_LINE = "{index}. {title} — {result}{note}"
SELF_POINTS_HEADER = "<b>Điểm tự chấm:</b>"
SELF_POINT_LINE = "• {name}: {value}/{max}"
SELF_POINT_NONE = "chưa chấm"
SELF_TOTAL = "<b>Tổng: {total}/{max} — đề xuất xếp loại {grade}</b>"
SELF_TOTAL_PARTIAL = "Tổng hiện tại: {total}/{max} (chấm đủ các tiêu chí để thấy loại đề xuất)"
SELF_COMMENT = "<b>Nhận xét của bạn:</b> {comment}"
SELF_RETURNED = "↩️ <b>Bị trả lại</b> với lý do: <i>{reason}</i>\nVui lòng sửa rồi gửi lại."
SELF_EVIDENCE_HEADER = "<b>Minh chứng từ chương trình hành động:</b>"
SELF_EVIDENCE_LINE = "• {commitment} — mục tiêu: {target}; hạn {deadline}; tiến độ {percent}%"
SELF_LOCKED = "Hồ sơ {state}: không sửa được. Dùng /ketqua để xem kết quả."
SELF_WAITING = (
    "Hồ sơ đã gửi và đang chờ người quản lý nhận xét. Muốn sửa trước khi được nhận xét, bấm «Sửa lại» "
    "(hồ sơ rút về bản nháp; nhớ gửi lại)."
)
BUTTON_WITHDRAW = "✏️ Sửa lại"
SELF_WITHDRAWN = (
    "✏️ Đã rút hồ sơ về bản nháp: người quản lý không còn thấy hồ sơ trong danh sách chờ. "
    "Sửa xong, bấm «Xem lại và gửi» để gửi lại."
)
SELF_WITHDRAW_TOO_LATE = (
    "Không sửa lại được: người quản lý đã xử lý hồ sơ ({state}) trước khi bạn bấm «Sửa lại»."
)
BUTTON_SELF_TASK = "{index}. {mark} {title}"
BUTTON_SELF_POINTS = "🔢 {name} ({value})"
BUTTON_SELF_COMMENT = "💬 Nhận xét chung"
BUTTON_SELF_REVIEW = "📤 Xem lại và gửi"
BUTTON_RESULT = {"on_time": "✅ Đúng hạn", "late": "⏰ Trễ hạn", "not_done": "❌ Không hoàn thành"}
SELF_ASK_RESULT = "Việc {index}: <b>{title}</b>{expected}\nKết quả thực hiện?"
SELF_ASK_NOTE = (
    "Đã lưu: {result}. Gõ ghi chú cho việc này (ví dụ: sản phẩm, lý do trễ), hoặc bấm «Bỏ qua». "
    + FORM_CANCEL_HINT
)
SELF_NOTE_TOO_LONG = "Ghi chú dài quá {limit} ký tự (bạn gõ {length}). Vui lòng rút gọn."
SELF_ASK_POINTS = (
    "Chấm điểm <b>{name}</b> (từ 0 đến {max}). Bấm một mức bên dưới hoặc gõ số (ví dụ <code>17,5</code>). "
    + FORM_CANCEL_HINT
)
SELF_POINTS_BAD = (
    "«{value}» không phải là số. Vui lòng gõ một số từ 0 đến {max}, ví dụ <code>{example}</code>."
)
SELF_POINTS_RANGE = "Điểm {value} nằm ngoài khoảng cho phép của «{name}»: từ 0 đến {max}. Vui lòng gõ lại."
SELF_ASK_COMMENT = "Gõ nhận xét chung về kết quả tháng (tối đa {limit} ký tự). " + FORM_CANCEL_HINT
SELF_COMMENT_TOO_LONG = "Nhận xét dài quá {limit} ký tự (bạn gõ {length}). Vui lòng rút gọn."
SELF_SAVED = "✅ Đã lưu."
SELF_MISSING = "Chưa gửi được, còn thiếu: {missing}. Vui lòng bổ sung."
SELF_MISSING_RESULTS = "kết quả việc {tasks}"
SELF_MISSING_POINTS = "điểm «{names}»"
SELF_CONFIRM = "📤 <b>Kiểm tra trước khi gửi</b>\n\n{card}\n\nGửi hồ sơ cho người quản lý nhận xét?"
BUTTON_SEND = "✅ Gửi"
BUTTON_KEEP_EDITING = "✏️ Sửa tiếp"
SELF_SENT = "✅ Đã gửi tự đánh giá kỳ {period}{late}. Đã báo cho: {reviewers}."
SELF_SENT_NOBODY = (
    "✅ Đã gửi tự đánh giá kỳ {period}{late}. Chưa có người nhận xét nào dùng bot; Ban Tổ chức sẽ được nhắc."
)
REVIEWER_NOTIFIED_NONE = "(chưa có ai dùng bot)"

# --- /duyet (review and decision) ---------------------------------------------------------------------
WAIT_HEADER = "📥 <b>Hồ sơ chờ bạn xử lý</b> (cũ nhất trước):"
WAIT_NONE = "Không có hồ sơ nào đang chờ bạn."
WAIT_REVIEW_LINE = "{index}. {name} ({code}) — kỳ {period}, tự chấm {total} → {grade}{late}"
WAIT_DECISION_LINE = "{index}. {name} ({code}) — kỳ {period}, người quản lý đề nghị loại {grade}{late}"
BUTTON_WAIT_REVIEW = "📝 {index}. {name} ({period})"
BUTTON_WAIT_DECISION = "⚖️ {index}. {name} ({period})"
REVIEW_CARD_HEADER = "📄 <b>Hồ sơ {name}</b> ({code}) — kỳ {period}\nTrạng thái: {state}{late}"
REVIEW_POINT_LINE = "• {name}: tự chấm {self_value}; người quản lý {review_value} (tối đa {max})"
REVIEW_TOTAL = "<b>Người quản lý chấm: {total} — loại {grade}</b>"
REVIEW_COMMENT = "<b>Nhận xét của người quản lý:</b> {comment}"
BUTTON_APPROVE = "✅ Đồng ý (loại {grade})"
BUTTON_ADJUST = "✏️ Điều chỉnh điểm"
BUTTON_RETURN = "↩️ Trả lại"
REVIEW_PICK_CRITERION = "Chọn tiêu chí cần điều chỉnh:"
BUTTON_ADJUST_CRITERION = "{name} ({value})"
REVIEW_ASK_POINTS = (
    "Gõ điểm mới cho <b>{name}</b> (từ 0 đến {max}; người được đánh giá tự chấm {value}). " + CANCEL_HINT
)
REVIEW_ASK_COMMENT = (
    "Điểm mới: {changes} → tổng {total}, loại {grade}.\n"
    "Gõ nhận xét giải thích việc điều chỉnh (bắt buộc). "
    "(Gõ /huy để dừng; điểm điều chỉnh chỉ được lưu cùng nhận xét.)"
)
REVIEW_COMMENT_EMPTY = "Cần có nhận xét khi điều chỉnh điểm. Vui lòng gõ nội dung nhận xét."
REVIEW_ASK_REASON = "Gõ lý do trả lại để người được đánh giá sửa (bắt buộc). " + CANCEL_HINT
REVIEW_REASON_EMPTY = "Lý do đang trống. Vui lòng gõ lý do trả lại."
REVIEW_APPROVED = (
    "✅ Đã nhận xét hồ sơ của {name} (kỳ {period}): loại {grade}. Đã báo cho thủ trưởng: {heads}."
)
REVIEW_RETURNED = "↩️ Đã trả lại hồ sơ của {name} (kỳ {period}) kèm lý do."
REVIEW_ALREADY = "Hồ sơ này đã được xử lý ({state}). Không cần làm gì thêm."
REVIEW_WITHDRAWN = (
    "{name} đã rút hồ sơ về để sửa lại nên chưa thể nhận xét. Khi hồ sơ được gửi lại, bạn sẽ nhận thông báo."
)
NOT_YOUR_REVIEW = "Bạn không phải người nhận xét hoặc thủ trưởng của hồ sơ này."
DECIDE_HINT = "Chọn xếp loại cuối cùng (thủ trưởng quyết định, hồ sơ sẽ được khóa):"
BUTTON_DECIDE = "⚖️ Loại {grade}{mark}"
DECIDE_QUOTA_OK = "Kiểm tra tỉ lệ: loại {grade} trong đơn vị vẫn trong giới hạn."
DECIDE_QUOTA_BREACH = (
    "⚠️ <b>Vượt tỉ lệ</b>: nếu quyết định loại {grade}, đơn vị sẽ có {count} người loại {grade} "
    "trên {graded} người được đánh giá, vượt mức tối đa {allowed} người."
)
# How the most allowed was reached (the rules file's max_share / max_ratio, rounding and at_least).
DECIDE_QUOTA_HOW = (
    "Cách tính: {limit}% của {base} {what} = {exact}, {rounding} → tối đa {allowed} người{floor}."
)
DECIDE_QUOTA_HOW_GRADED = "người được đánh giá"
DECIDE_QUOTA_HOW_OF_GRADE = "người loại {grade}"
DECIDE_QUOTA_ROUNDING = {
    "down": "làm tròn xuống",
    "nearest": "làm tròn đến số gần nhất",
    "up": "làm tròn lên",
}
DECIDE_QUOTA_FLOOR = " (đơn vị có người được đánh giá luôn được ít nhất {at_least} người)"
DECIDE_QUOTA_ENFORCED = (
    "Quy định tỉ lệ này là bắt buộc: chọn loại khác, hoặc bấm «Vẫn quyết định» và nêu lý do "
    "(lý do được lưu vào lịch sử hồ sơ)."
)
DECIDE_CONFIRM = "Quyết định <b>loại {grade}</b> ({grade_name}) cho {name}, kỳ {period}?"
BUTTON_DECIDE_CONFIRM = "✅ Xác nhận loại {grade}"
BUTTON_DECIDE_OVERRIDE = "⚠️ Vẫn quyết định (nêu lý do)"
BUTTON_DECIDE_OTHER = "↩️ Chọn loại khác"
DECIDE_ASK_REASON = "Gõ lý do quyết định vượt tỉ lệ (bắt buộc, được lưu vào lịch sử hồ sơ). " + CANCEL_HINT
DECIDE_REASON_EMPTY = "Lý do đang trống hoặc dài quá {limit} ký tự. Vui lòng gõ lý do quyết định vượt tỉ lệ."
DECIDED = "🔒 Đã quyết định loại {grade} cho {name} (kỳ {period}). Hồ sơ đã khóa."
ACTION_NOT_ALLOWED = "Bạn không có quyền thực hiện thao tác này với hồ sơ."
BUTTON_REOPEN = "🔓 Mở lại hồ sơ"
REOPEN_ASK_REASON = "Gõ lý do mở lại hồ sơ đã khóa (bắt buộc). " + CANCEL_HINT
REOPENED = "🔓 Đã mở lại hồ sơ của {name} (kỳ {period}); hồ sơ chờ quyết định lại."

# --- Notifications to the next person in the chain -----------------------------------------------------
NOTIFY_SUBMITTED = "📥 {name} vừa gửi tự đánh giá kỳ {period}{late}: tự chấm {total}, đề xuất loại {grade}."
BUTTON_NOTIFY_OPEN = "📝 Mở hồ sơ"
NOTIFY_RETURNED = "↩️ Hồ sơ tự đánh giá kỳ {period} của bạn bị trả lại.\nLý do: <i>{reason}</i>\nDùng /danhgia {period} để sửa và gửi lại."
NOTIFY_REVIEWED = "📝 Người quản lý đã nhận xét hồ sơ kỳ {period} của bạn: đề nghị loại {grade}{proposed}."
NOTIFY_REVIEWED_PROPOSED = ", bạn tự đề xuất loại {grade}"
NOTIFY_REVIEWED_POINTS = (
    "Tổng điểm: {self_total} (bạn tự chấm) → {review_total} (người quản lý chấm), {change}."
)
NOTIFY_REVIEWED_LOWERED = "giảm {delta} điểm"
NOTIFY_REVIEWED_RAISED = "tăng {delta} điểm"
NOTIFY_REVIEWED_POINTS_KEPT = "Tổng điểm: {total}, giữ nguyên như bạn tự chấm."
NOTIFY_REVIEWED_COMMENT = "Nhận xét: «{comment}»"
NOTIFY_REVIEWED_NEXT = "Thủ trưởng sẽ quyết định xếp loại cuối cùng."
NOTIFY_TO_HEAD = "⚖️ Hồ sơ của {name} kỳ {period} chờ bạn quyết định: người quản lý đề nghị loại {grade}."
NOTIFY_DECIDED = "🔒 Kết quả kỳ {period}: thủ trưởng quyết định xếp loại <b>{grade}</b> ({grade_name})."
NOTIFY_REOPENED = "🔓 Hồ sơ kỳ {period} của bạn được mở lại. Lý do: <i>{reason}</i>"

# --- /ketqua ----------------------------------------------------------------------------------------------
RESULTS_HEADER = "📊 <b>Kết quả đánh giá của {name}</b>"
RESULTS_NONE = "Bạn chưa có hồ sơ đánh giá nào."
RESULTS_LINE = "• Kỳ {period}: {state}{grade}{late}"
RESULTS_GRADE = " — loại <b>{grade}</b>"
BUTTON_HISTORY = "🕘 Lịch sử kỳ {period}"
HISTORY_HEADER = "🕘 <b>Lịch sử hồ sơ kỳ {period}</b>"
HISTORY_LINE = "• {at}: {action}{reason}"
HISTORY_REPEATED = " ({count} lần, lần cuối {last})"
HISTORY_LAST_FORMAT = "%H:%M %d/%m"
HISTORY_QUOTA_OVERRIDE = " loại {grade}, vượt tỉ lệ, lý do: <i>{reason}</i>"
HISTORY_ACTIONS: dict[str, str] = {
    "create": "tạo hồ sơ",
    "plan": "đăng ký/sửa kế hoạch",
    "plan_sent": "gửi kế hoạch cho người quản lý",
    "plan_comment": "người quản lý góp ý kế hoạch",
    "plan_change_request": "người quản lý đề nghị sửa kế hoạch",
    "copy_tasks": "chép việc từ kỳ trước",
    "save_draft": "lưu nháp tự đánh giá",
    "submit": "gửi tự đánh giá",
    "withdraw": "rút hồ sơ đã gửi về để sửa lại",
    "approve": "người quản lý nhận xét",
    "return": "bị trả lại",
    "decide": "thủ trưởng quyết định",
    "reopen": "mở lại hồ sơ",
}

# --- /tonghop ---------------------------------------------------------------------------------------------
SUMMARY_USAGE = (
    "Cú pháp: <code>/tonghop [kỳ] [mã đơn vị]</code>, ví dụ <code>/tonghop {example} BD</code>; "
    "cả năm: <code>/tonghop 2026 BD</code>. Bỏ trống để xem kỳ trước của đơn vị bạn phụ trách."
)
SUMMARY_UNKNOWN_UNIT = "Không có đơn vị mã «{value}». Vui lòng kiểm tra mã đơn vị (ví dụ <code>BD</code>)."
SUMMARY_UNKNOWN_ARG = (
    "«{value}» không phải mã đơn vị, kỳ hay năm nào tôi nhận ra. <code>/tonghop</code> nhận:\n"
    "• kỳ: {periods}\n"
    "• năm: <code>{year}</code>\n"
    "• mã đơn vị: <code>{unit}</code>\n"
    "Ví dụ: <code>/tonghop {period} {unit}</code>"
)
SUMMARY_NO_QUARTERS = (
    "«{value}»: quy tắc đánh giá đang dùng tính theo tháng, nên không có tổng hợp theo quý. Xem từng tháng, ví dụ "
    "<code>/tonghop {period}</code>, hoặc cả năm: <code>/tonghop {year}</code> (thêm mã đơn vị nếu cần, ví dụ "
    "<code>/tonghop {period} BD</code>)."
)
SUMMARY_PERIOD_FORMS_MONTH = "<code>{period}</code> hoặc <code>{slash}</code>"
SUMMARY_PERIOD_FORMS_QUARTER = "<code>{period}</code>"
SUMMARY_OUT_OF_SCOPE = "Đơn vị «{value}» nằm ngoài phạm vi bạn phụ trách."
SUMMARY_NO_SCOPE = "Bạn chưa được giao phạm vi đơn vị nào để xem tổng hợp."
SUMMARY_WORKING = "⏳ Đang tổng hợp kỳ {period}…"
SUMMARY_CHART_CAPTION = "Biểu đồ kỳ {period} — {unit}"
SUMMARY_XLSX_CAPTION = "Bảng tổng hợp kỳ {period} — {unit} (Excel)"
SUMMARY_YEAR_BAD = "Năm {value} không có dữ liệu tổng hợp. Vui lòng gõ một năm từ 2000 đến {current}, ví dụ <code>/tonghop {current}</code>."
SUMMARY_YEAR_XLSX_CAPTION = (
    "Bảng tổng hợp cả năm {year} — {unit} (Excel): trang «Cả năm {year}» là xếp loại từng kỳ của mỗi người; "
    "các trang còn lại là kỳ {period}."
)
SUMMARY_AUTO_HEADER = "📬 <b>Tổng hợp tự động</b>"

# --- Reminders ----------------------------------------------------------------------------------------------
REMIND_HEADER = "⏰ <b>Nhắc việc</b>"
REMIND_KINDS: dict[str, str] = {
    "plan": "Đăng ký kế hoạch kỳ {period} (/kehoach)",
    "self_assessment": "Tự đánh giá kỳ {period} (/danhgia {period})",
    "review": "Nhận xét hồ sơ của {subject} kỳ {period} (/duyet)",
    "decision": "Quyết định xếp loại cho {subject} kỳ {period} (/duyet)",
    "rotation_self_review": "Tự nhận xét trong thời gian luân chuyển (/luanchuyen)",
    "rotation_comment": "Nhận xét cán bộ luân chuyển {subject} (/luanchuyen)",
    "rotation_evaluation": "Đánh giá cán bộ luân chuyển {subject} (/luanchuyen)",
}
REMIND_DUE = "{what} — hạn {deadline} ({left})"
REMIND_LEFT_TODAY = "hôm nay"
REMIND_LEFT_DAYS = "còn {days} ngày"
REMIND_OVERDUE = "quá hạn {days} ngày"
LATE_LIST_HEADER = "📋 <b>Danh sách chưa tự đánh giá kỳ {period}</b> (hạn {deadline} đã qua):"
LATE_LIST_LINE = "• {name} ({code}, {unit}): {missing}"
UNDECIDED_LIST_HEADER = (
    "📋 <b>Danh sách chưa có quyết định xếp loại kỳ {period}</b> (hạn quyết định {deadline} đã qua):"
)
# What is missing for one person, by the state of their record (the keys are records' evaluation states).
LATE_MISSING: dict[str, str] = {
    "none": "chưa tự đánh giá",
    "draft": "đang soạn, chưa gửi tự đánh giá",
    "returned": "bị trả lại, chưa gửi lại",
    "submitted": "chưa được người quản lý nhận xét ({names})",
    "reviewed": "chờ thủ trưởng quyết định ({names})",
}
LATE_LIST_MORE = "… và {count} người khác"
LATE_LIST_NEXT = "Xem tổng hợp: {commands}"

# --- /chuongtrinh (action programmes) --------------------------------------------------------------------
PROGRAMME_COMMAND = (
    "Chương trình hành động: đăng ký, gửi xác nhận, cập nhật tiến độ; của đơn vị: /chuongtrinh MÃ_ĐƠN_VỊ"
)
PUBLICITY_NAMES: dict[str, str] = {
    "internal": "Nội bộ",
    "party_cell": "Công khai trong chi bộ",
    "public": "Công khai rộng rãi",
}
PROGRAMME_STATES: dict[str, str] = {
    "draft": "đang soạn",
    "submitted": "đã gửi, chờ thủ trưởng xác nhận",
    "returned": "bị trả lại để sửa",
    "confirmed": "đã xác nhận, đang thực hiện",
    "closed": "đã kết thúc",
}
PROGRAMMES_NONE = (
    "Bạn chưa có chương trình hành động nào. Bấm «➕ Đăng ký chương trình mới» khi nhận nhiệm vụ mới."
)
PROGRAMME_HEADER = "🎯 <b>Chương trình hành động — {post}</b>\nNhiệm kỳ: {start} – {end}. Mức công khai: {publicity}.\nTrạng thái: {state}"
PROGRAMME_ITEM = "{index}. {commitment}\n   Chỉ tiêu: {target}; hạn {deadline}; tiến độ <b>{percent}%</b>"
PROGRAMME_ALREADY = "Không cần làm gì thêm: chương trình đã ở trạng thái «{state}». Nội dung mới nhất:"
PROGRAMME_RETURNED = "↩️ Bị trả lại với lý do: <i>{reason}</i>"
BUTTON_PROGRAMME_NEW = "➕ Đăng ký chương trình mới"
BUTTON_PROGRAMME_ITEM = "➕ Thêm mục"
BUTTON_PROGRAMME_SUBMIT = "📤 Gửi thủ trưởng xác nhận"
BUTTON_PROGRAMME_PROGRESS = "📈 Tiến độ mục {index}"
BUTTON_PROGRAMME_CONFIRM = "✅ Xác nhận chương trình"
BUTTON_PROGRAMME_RETURN = "↩️ Trả lại"
PROGRAMME_ASK_POST = (
    "Gõ chức vụ mới và nhiệm kỳ theo mẫu:\n<code>Chức vụ | từ ngày | đến ngày</code>\n"
    "Ví dụ: <code>Bí thư Đảng ủy phường Phúc Xá | 01/11/2026 | 31/10/2031</code> " + CANCEL_HINT
)
PROGRAMME_POST_BAD = (
    "Chưa đúng mẫu. Vui lòng gõ <code>Chức vụ | từ ngày | đến ngày</code> (ngày dạng 01/11/2026)."
)
PROGRAMME_POST_DATE_BAD = (
    "Ngày «{value}» không đúng. Vui lòng gõ ngày/tháng/năm, ví dụ <code>01/11/2026</code> "
    "(năm gõ 2 chữ số cũng được: <code>01/11/26</code>)."
)
PROGRAMME_TERM_BAD = "Ngày kết thúc nhiệm kỳ phải sau ngày bắt đầu. Vui lòng gõ lại."
PROGRAMME_ASK_PUBLICITY = "Chọn mức công khai của chương trình:"
_PROGRAMME_ITEM_FORMAT = (
    "Gõ một mục cam kết theo mẫu:\n<code>Nội dung cam kết | Chỉ tiêu đo được | Hạn (ngày/tháng/năm)</code>\n"
    "Ví dụ: <code>Nâng chất lượng sinh hoạt chi bộ | 100% chi bộ xếp loại tốt | 31/12/2027</code> "
)
# The first item creates the draft: until then the post, term and publicity are not saved anywhere.
PROGRAMME_ASK_FIRST_ITEM = (
    _PROGRAMME_ITEM_FORMAT + "(Gõ /huy để dừng; chương trình chỉ được lưu khi có mục cam kết đầu tiên.)"
)
PROGRAMME_ASK_ITEM = _PROGRAMME_ITEM_FORMAT + FORM_CANCEL_HINT
PROGRAMME_ITEM_BAD = "Chưa đúng mẫu. Mỗi mục cần đủ 3 phần: <code>Nội dung | Chỉ tiêu | Hạn</code>."
PROGRAMME_ITEM_DATE_BAD = (
    "Hạn «{value}» không đúng. Vui lòng gõ ngày/tháng/năm, ví dụ <code>31/12/2027</code> "
    "(năm gõ 2 chữ số cũng được: <code>31/12/27</code>)."
)
PROGRAMME_ITEM_OUTSIDE = "Hạn {value} nằm ngoài nhiệm kỳ ({start} – {end}). Vui lòng chọn hạn trong nhiệm kỳ."
PROGRAMME_ITEM_TOO_LONG = "Nội dung hoặc chỉ tiêu quá dài (tối đa {limit} ký tự). Vui lòng rút gọn."
PROGRAMME_ITEM_SAVED = (
    "✅ Đã lưu mục «{commitment}». Gõ tiếp mục khác, hoặc bấm «📤 Gửi thủ trưởng xác nhận»."
)
PROGRAMME_CONFIRM_SUBMIT = (
    "📤 <b>Kiểm tra trước khi gửi</b>\n\n{card}\n\nGửi chương trình cho thủ trưởng xác nhận?"
)
PROGRAMME_SUBMITTED = "✅ Đã gửi chương trình hành động cho thủ trưởng xác nhận. Đã báo cho: {heads}."
PROGRAMME_ASK_PROGRESS = (
    "Mục {index}: <b>{commitment}</b> (hiện {percent}%).\nGõ tiến độ mới (0–100) và ghi chú, ví dụ "
    "<code>60 đã hoàn thành 3/5 chi bộ</code>. " + CANCEL_HINT
)
PROGRAMME_PROGRESS_BAD = (
    "Vui lòng gõ một số nguyên từ 0 đến 100 ở đầu, ví dụ <code>60 đã hoàn thành 3/5 chi bộ</code>."
)
PROGRAMME_PROGRESS_FRACTION = (
    "Tiến độ «{value}» có phần lẻ: vui lòng gõ số nguyên phần trăm từ 0 đến 100 ở đầu, "
    "ví dụ <code>86 đã họp 3 buổi</code>. Tiến độ chưa được cập nhật."
)
PROGRAMME_PROGRESS_SAVED = "✅ Đã cập nhật tiến độ mục {index}: {percent}%."
# After one update the step ends (a forgotten open step would swallow the next regulation question): say so.
PROGRAMME_PROGRESS_NEXT = (
    "👉 Muốn cập nhật thêm (mục này hoặc mục khác), bấm «📈 Tiến độ mục …» bên dưới. "
    "Tin nhắn gõ tiếp bây giờ không được ghi vào tiến độ mà được hiểu là câu hỏi về quy định."
)
PROGRAMME_ASK_RETURN = "Gõ lý do trả lại chương trình (bắt buộc). " + CANCEL_HINT
PROGRAMME_CONFIRMED = "✅ Đã xác nhận chương trình hành động của {name} ({post})."
PROGRAMME_RETURNED_DONE = "↩️ Đã trả lại chương trình hành động của {name} kèm lý do."
NOTIFY_PROGRAMME_SUBMITTED = "🎯 {name} gửi chương trình hành động ({post}) chờ bạn xác nhận."
NOTIFY_PROGRAMME_CONFIRMED = "✅ Chương trình hành động ({post}) của bạn đã được thủ trưởng xác nhận."
NOTIFY_PROGRAMME_RETURNED = "↩️ Chương trình hành động ({post}) bị trả lại. Lý do: <i>{reason}</i>\nDùng /chuongtrinh để sửa và gửi lại."
BUTTON_PROGRAMME_UNIT = "👥 Chương trình của đơn vị"
PROGRAMMES_MENU = "Đăng ký chương trình mới, hoặc xem chương trình hành động của đơn vị:"
# Other people's programmes (the «👥» button, /chuongtrinh MÃ_ĐƠN_VỊ): only confirmed or closed ones, by publicity.
UNIT_PROGRAMMES_HEADER = (
    "👥 <b>Chương trình hành động — {unit}</b>\nChương trình đã xác nhận bạn được xem: {count}."
)
UNIT_PROGRAMMES_NONE = "👥 Chưa có chương trình hành động nào của {unit} mà bạn được xem."
UNIT_PROGRAMMES_RULE = (
    "<i>Chỉ gồm chương trình đã được thủ trưởng xác nhận. «Công khai rộng rãi»: mọi người xem được; "
    "«Công khai trong chi bộ»: người cùng đơn vị; «Nội bộ»: thủ trưởng, người nhận xét và Ban Tổ chức "
    "phụ trách đơn vị. Xem đơn vị khác: gõ <code>/chuongtrinh MÃ_ĐƠN_VỊ</code>, ví dụ "
    "<code>/chuongtrinh {example}</code>.</i>"
)
UNIT_PROGRAMMES_MORE = (
    "… và {more} chương trình khác: gõ <code>/chuongtrinh MÃ_ĐƠN_VỊ</code> để xem từng đơn vị cấp dưới."
)
UNIT_PROGRAMMES_ARGS = (
    "Gõ <code>/chuongtrinh</code> (chương trình của bạn) hoặc <code>/chuongtrinh MÃ_ĐƠN_VỊ</code>, ví dụ "
    "<code>/chuongtrinh BD</code>. Chuyên viên Ban Tổ chức và thủ trưởng nhận tệp Excel chương trình công khai "
    "đang thực hiện của đơn vị bằng <code>/chuongtrinh BD công khai</code>, gồm cả chương trình đã kết thúc "
    "nhiệm kỳ bằng <code>/chuongtrinh BD công khai tất cả</code>."
)
# The public list for the Fatherland Front and People's Councils («📄» button, /chuongtrinh MÃ_ĐƠN_VỊ công khai).
BUTTON_PROGRAMME_PUBLIC_XLSX = "📄 Excel chương trình công khai (gửi MTTQ, HĐND)"
PUBLIC_PROGRAMMES_XLSX_CAPTION = (
    "📄 Chương trình hành động công khai — {unit}: {count} chương trình đang thực hiện, {items} cam kết.\n"
    "Chỉ gồm chương trình đã được thủ trưởng xác nhận ở mức «Công khai rộng rãi» (không có chương trình nội bộ "
    "hay công khai trong chi bộ), kèm tiến độ mới nhất; dùng để gửi Mặt trận Tổ quốc và Hội đồng nhân dân giám sát."
)
PUBLIC_PROGRAMMES_ENDED_SOME = "trong đó {ended} đã kết thúc nhiệm kỳ"
PUBLIC_PROGRAMMES_ENDED_NONE = "không có chương trình nào đã kết thúc nhiệm kỳ"
PUBLIC_PROGRAMMES_ENDED_LEFT_OUT = (
    "Không gồm {ended} chương trình đã kết thúc nhiệm kỳ. Muốn có cả các chương trình đó: gõ "
    "<code>/chuongtrinh {code} công khai tất cả</code>."
)
PUBLIC_PROGRAMMES_ALL_XLSX_CAPTION = (
    "📄 Chương trình hành động công khai — {unit}: {count} chương trình ({ended}), {items} cam kết.\n"
    "Gồm chương trình đang thực hiện và chương trình đã kết thúc nhiệm kỳ ở mức «Công khai rộng rãi» (mỗi dòng "
    "ghi trạng thái và ngày kết thúc), kèm tiến độ mới nhất; không có chương trình nội bộ hay công khai trong chi bộ."
)
PUBLIC_PROGRAMMES_OUT_OF_SCOPE = (
    "Đơn vị «{value}» nằm ngoài phạm vi bạn phụ trách: chỉ chuyên viên Ban Tổ chức và thủ trưởng phụ trách đơn vị "
    "mới lập được danh sách chương trình công khai của đơn vị đó. Xem chương trình công khai: gõ "
    "<code>/chuongtrinh {value}</code>."
)
DIGEST_HEADER = (
    "👤 <b>{name}</b> ({code}, {unit}) — {post}\nNhiệm kỳ: {start} – {end}. Mức công khai: {publicity}. "
    "Trạng thái: {state}"
)
PROGRAMME_ITEM_LATEST = "\n   Cập nhật {at}: {note}"
PROGRAMME_ITEM_NO_NOTE = "(không ghi chú)"
PROGRAMME_ITEM_NOT_YET = "\n   Chưa cập nhật tiến độ."
BUTTON_PROGRAMME_LOG = "🕘 Nhật ký tiến độ"
PROGRAMME_LOG_HEADER = "🕘 <b>Nhật ký tiến độ — {post}</b> ({name})"
PROGRAMME_LOG_ITEM = "{index}. {commitment}"
PROGRAMME_LOG_LINE = "   • {at}: {percent}% — {note}"
PROGRAMME_LOG_EMPTY = "   Chưa có lần cập nhật nào."
PROGRAMME_PROGRESS_NOTIFIED = "Đã báo cho: {heads}."
NOTIFY_PROGRAMME_PROGRESS = (
    "📈 {name} cập nhật tiến độ chương trình hành động ({post}):\n"
    "Mục {index}. {commitment}: {before}% → <b>{percent}%</b>\nGhi chú: {note}"
)
WAIT_PROGRAMME_LINE = "{index}. 🎯 Chương trình hành động của {name} — {post}"
BUTTON_WAIT_PROGRAMME = "🎯 {index}. {name}"
BUTTON_OPEN_PROGRAMME = "🎯 Mở chương trình"

# --- /luanchuyen (rotation reviews) ------------------------------------------------------------------------
ROTATION_COMMAND = "Đợt luân chuyển của tôi, cán bộ luân chuyển đến đơn vị, phiếu đánh giá đến hạn"
ROTATION_MINE_HEADER = "🔄 <b>Đợt luân chuyển của bạn</b>"
ROTATION_MINE = (
    "Đơn vị tiếp nhận: {to_unit}\n"
    "Chức vụ: {post}\n"
    "Nơi đi: {from_unit}, {from_post}\n"
    "Thời hạn: {term}\n"
    "Kỳ đánh giá tiếp theo: {next}"
)
ROTATION_TERM = "{months} tháng, từ {start} đến {end}"
ROTATION_TERM_DATES = "từ {start} đến {end}"
ROTATION_NEXT = "{due} ({kind}) — {state}, {when}"
ROTATION_NEXT_NONE = "các kỳ đánh giá đã hoàn tất"
ROTATION_NOT_REQUIRED_NOTE = "<i>{count} kỳ đánh giá đến hạn trước ngày ghi nhận đợt luân chuyển ({recorded}) không phải làm trên hệ thống.</i>"
# The next review's state, as read by the rotated cadre and by anyone else.
ROTATION_NEXT_STATE_MINE: dict[str, str] = {
    "pending": "chờ bạn tự nhận xét",
    "self_reviewed": "chờ nhận xét của tập thể nơi đến",
    "commented": "chờ đánh giá của cấp có thẩm quyền",
}
ROTATION_NEXT_STATE: dict[str, str] = {
    "pending": "chờ cán bộ tự nhận xét",
    "self_reviewed": "chờ nhận xét của tập thể nơi đến",
    "commented": "chờ đánh giá của cấp có thẩm quyền",
}
ROTATION_WHEN_LEFT = "còn {days} ngày"
ROTATION_WHEN_TODAY = "đến hạn hôm nay"
ROTATION_WHEN_LATE = "quá hạn {days} ngày"
ROTATION_RECEIVED_HEADER = "🔄 <b>Cán bộ luân chuyển đến đơn vị bạn phụ trách</b>"
ROTATION_RECEIVED_LINE = "{index}. {name} — {post}, {to_unit}; {term}\n    Kỳ đánh giá tiếp theo: {next}"
ROTATION_RECEIVED_MORE = "… và {count} cán bộ khác."
ROTATION_NONE = "Không có việc nhận xét, đánh giá luân chuyển nào đến hạn với bạn."
ROTATION_HEADER = "🔄 <b>Đánh giá cán bộ luân chuyển đến hạn</b>"
ROTATION_LINE = "{index}. {what} — hạn {deadline}"
ROTATION_KINDS: dict[str, str] = {
    "rotation_self_review": "Tự nhận xét của {subject} (kỳ {kind})",
    "rotation_comment": "Nhận xét của tập thể nơi đến về {subject} (kỳ {kind})",
    "rotation_evaluation": "Đánh giá của cấp có thẩm quyền về {subject} (kỳ {kind})",
}
ROTATION_REVIEW_KINDS: dict[str, str] = {"periodic": "định kỳ 6 tháng", "final": "kết thúc luân chuyển"}
BUTTON_ROTATION_FILL = "✍️ {index}. Điền phiếu"
# A form's button outside the numbered /luanchuyen list (a reminder, a notice): named, with its deadline.
BUTTON_ROTATION_FORM: dict[str, str] = {
    "rotation_self_review": "✍️ Tự nhận xét (hạn {deadline})",
    "rotation_comment": "✍️ Nhận xét {subject} (hạn {deadline})",
    "rotation_evaluation": "✍️ Đánh giá {subject} (hạn {deadline})",
}
ROTATION_ASK_TEXT: dict[str, str] = {
    "rotation_self_review": "Gõ bản tự nhận xét kết quả công tác trong thời gian luân chuyển (tối đa 4000 ký tự). ",
    "rotation_comment": "Gõ nhận xét của tập thể đơn vị nơi đến về cán bộ {subject} (tối đa 4000 ký tự). ",
    "rotation_evaluation": "Gõ đánh giá về cán bộ {subject} (tối đa 4000 ký tự). ",
}
ROTATION_ASK_GRADE = "Chọn mức xếp loại cho cán bộ {subject}:"
ROTATION_TEXT_BAD = "Nội dung đang trống hoặc quá dài (tối đa 4000 ký tự). Vui lòng gõ lại."
ROTATION_SAVED = "✅ Đã lưu. Đã báo cho: {next}."
ROTATION_NOTIFY_NEXT = (
    "🔄 Phiếu đánh giá luân chuyển chờ bạn: {what}. Bấm nút bên dưới (hoặc /luanchuyen) để điền."
)
ROTATION_NOTIFY_DONE = (
    "🔄 Đánh giá luân chuyển ({kind}) của bạn đã hoàn tất: xếp loại <b>{grade}</b> ({grade_name})."
)

# --- Recording a rotation (canbo rotation start) --------------------------------------------------------------
# Plain text (the CLI) and HTML alike: no tags; the caller escapes the values for HTML.
ROTATION_START_ERRORS: dict[str, str] = {
    "same_unit": "đơn vị đến «{to_unit}» là đơn vị hiện tại của cán bộ; hãy chọn đơn vị tiếp nhận khác",
    "too_short": (
        "một đợt luân chuyển kéo dài ít nhất {min_months} tháng (kết thúc sớm nhất ngày {earliest})"
    ),
    "end_before_start": "ngày kết thúc phải sau ngày bắt đầu",
    "already_active": (
        "{name} đang trong một đợt luân chuyển chưa kết thúc (bắt đầu ngày {since}); "
        "cần kết thúc đợt đó trước khi ghi nhận đợt mới"
    ),
    "permission_denied": (
        "chỉ chuyên viên Ban Tổ chức hoặc quản trị viên có phạm vi gồm cả đơn vị đi ({from_unit}) và "
        "đơn vị đến ({to_unit}) mới ghi nhận được luân chuyển"
    ),
}
ROTATION_START_ERROR_FALLBACK = "dữ liệu luân chuyển chưa hợp lệ; vui lòng kiểm tra lại"
ROTATION_STARTED = (
    "Đã ghi nhận luân chuyển {name} ({code}): {from_unit} → {to_unit}, chức vụ «{post}», "
    "từ {start} đến {end} ({months} tháng)."
)
ROTATION_STARTED_NEXT = "Kỳ đánh giá tiếp theo: {due} ({kind})."
ROTATION_STARTED_NOT_REQUIRED = (
    "{count} kỳ đánh giá đến hạn trước ngày ghi nhận {recorded} (từ {first} đến {last}) được ghi là "
    "không phải làm trên hệ thống: không nhắc, không tính là quá hạn."
)

# Staff in /luanchuyen: «➕ Ghi nhận luân chuyển», one line, a preview, «✅ Ghi nhận».
BUTTON_ROTATION_NEW = "➕ Ghi nhận luân chuyển"
BUTTON_ROTATION_NEW_OK = "✅ Ghi nhận"
ROTATION_NEW_ASK = (
    "Gõ một dòng theo mẫu <code>MÃ_CÁN_BỘ | MÃ_ĐƠN_VỊ_ĐẾN | Chức vụ ở đơn vị đến | ngày bắt đầu</code>, "
    "thêm <code>| số tháng</code> nếu khác {months} tháng. Ví dụ: <code>BD04 | HK | Phó Trưởng ban | 05/11/2023</code>\n"
    "(Gõ /huy để dừng.)"
)
ROTATION_NEW_BAD = (
    "Chưa đúng mẫu: cần 4 hoặc 5 phần cách nhau bởi dấu «|», ví dụ "
    "<code>BD04 | HK | Phó Trưởng ban | 05/11/2023</code> hoặc <code>BD04 | HK | Phó Trưởng ban | 05/11/2023 | 48</code>."
)
ROTATION_NEW_BAD_DATE = "Ngày bắt đầu «{value}» không hợp lệ: gõ dạng NGÀY/THÁNG/NĂM, ví dụ 05/11/2023."
ROTATION_NEW_BAD_MONTHS = "Số tháng «{value}» không hợp lệ: gõ một số nguyên từ 1 đến {max}."
ROTATION_NEW_BAD_POST = "Chức vụ ở đơn vị đến không được để trống và dài tối đa {max} ký tự."
ROTATION_NEW_NO_PERSON = "Không có cán bộ mã «{code}». Kiểm tra mã rồi gõ lại dòng."
ROTATION_NEW_NO_UNIT = "Không có đơn vị mã «{code}». Kiểm tra mã rồi gõ lại dòng."
ROTATION_NEW_PREVIEW = (
    "🔄 <b>Kiểm tra trước khi ghi nhận</b>\n"
    "Cán bộ: {name} ({code})\n"
    "Nơi đi: {from_unit}, {from_post}\n"
    "Đơn vị tiếp nhận: {to_unit}\n"
    "Chức vụ: {post}\n"
    "Thời hạn: {term}\n"
    "Đơn vị và chức vụ của cán bộ trong danh sách sẽ đổi theo đơn vị tiếp nhận. "
    "Bấm «✅ Ghi nhận», hoặc gõ lại dòng để sửa."
)
ROTATION_NEW_DONE = "✅ {started}\nĐã báo cho: {notified}."
ROTATION_NEW_GONE = "Không còn dòng luân chuyển nào chờ ghi nhận; dùng /luanchuyen để bắt đầu lại."
NOTIFY_ROTATION_STARTED_CADRE = (
    "🔄 Ban Tổ chức đã ghi nhận đợt luân chuyển của bạn đến {to_unit}, chức vụ {post} ({term}). "
    "Dùng /luanchuyen để xem kỳ đánh giá tiếp theo."
)
NOTIFY_ROTATION_STARTED_HEAD = (
    "🔄 {name} được luân chuyển đến {to_unit}, chức vụ {post} ({term}). "
    "Dùng /luanchuyen để xem cán bộ luân chuyển đến đơn vị bạn phụ trách."
)


def rotation_start_error(reason: object, values: dict[str, str]) -> str:
    """Why a rotation could not be recorded (records' ValidationFailed `reason`, or "permission_denied")."""
    template = ROTATION_START_ERRORS.get(str(reason), ROTATION_START_ERROR_FALLBACK)
    try:
        return template.format(**values)
    except KeyError:
        return ROTATION_START_ERROR_FALLBACK


# --- /dulieu -------------------------------------------------------------------------------------------------
MYDATA_COMMAND = "Tải toàn bộ dữ liệu cá nhân của tôi (JSON, Excel)"
MYDATA_WORKING = "⏳ Đang chuẩn bị dữ liệu cá nhân của bạn…"
MYDATA_FIX_HINT = "Nếu có thông tin chưa đúng, bạn có quyền đề nghị đính chính."
BUTTON_MYDATA_FIX = "✏️ Đề nghị đính chính"
MYDATA_FIX_ASK = (
    "Hãy ghi rõ thông tin nào chưa đúng và cần sửa thế nào (tối đa {limit} ký tự), rồi gửi. "
    "Gửi /huy nếu thôi."
)
MYDATA_FIX_TOO_SHORT = "Đề nghị quá ngắn: hãy ghi rõ thông tin nào chưa đúng và cần sửa thế nào."
MYDATA_FIX_TOO_LONG = "Đề nghị quá dài (tối đa {limit} ký tự). Vui lòng rút gọn và gửi lại."
MYDATA_FIX_NOTICE = (
    "✏️ <b>Đề nghị đính chính dữ liệu cá nhân</b>\n"
    "Người đề nghị: {name} ({code}), {unit}\n"
    "Nội dung: {text}\n"
    "Vui lòng kiểm tra và sửa trong danh sách cán bộ hoặc hồ sơ đánh giá, rồi báo lại cho người đề nghị."
)
MYDATA_FIX_SENT = (
    "✅ Đã ghi nhận và chuyển đề nghị đính chính cho quản trị viên và Ban Tổ chức phụ trách đơn vị của bạn."
)
MYDATA_FIX_SENT_NOBODY = (
    "✅ Đã ghi nhận đề nghị đính chính. Hiện chưa có quản trị viên hay cán bộ Ban Tổ chức nào phụ trách "
    "đơn vị của bạn đăng nhập bot; đề nghị vẫn được lưu và sẽ được xử lý."
)
MYDATA_CAPTION_JSON = "Dữ liệu cá nhân của bạn (JSON, đầy đủ)"
MYDATA_CAPTION_XLSX = (
    "Dữ liệu cá nhân của bạn (Excel, dễ đọc). Việc tải dữ liệu đã được ghi vào nhật ký truy cập."
)
