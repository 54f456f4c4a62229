"""The one translation layer: every string the terminal UI shows goes through :func:`_`.

Strings are keyed by their English text (gettext style), so the English UI needs no catalog and a
missing translation falls back to readable English. Stable codes from the domain and the service
(verdict reasons, ``campaign.name.invalid``, ``login.locked``) have their own sentences in
:data:`CODES`, so a refusal reads in the cashier's language even when it came over the network.
"""

from __future__ import annotations

import os
from datetime import datetime, tzinfo

from pos.domain import Verdict, parse_time
from pos.domain.model import zone

LANGUAGES = ("en", "zh")
_language = "en"

ZH: dict[str, str] = {
    # app and navigation
    "Counter": "收银台",
    "Campaigns": "活动",
    "Staff": "员工",
    "Vouchers": "券",
    "Sync": "同步",
    "Reports": "报表",
    "Log out": "退出登录",
    "Quit": "退出",
    "Help": "帮助",
    "Go to the counter": "前往收银台",
    "Campaign list, create, edit, lifecycle": "活动列表、新建、编辑、状态流转",
    "Staff members and verifier rights": "员工与核销权限",
    "Issue vouchers and export them": "发券并导出",
    "Outbox, conflicts and sync now": "待上传、冲突与立即同步",
    "Redemptions per campaign, store and day": "按活动、门店、日期统计核销",
    "End this shift and return to the login": "结束本班并回到登录",
    "Only a manager may open this screen.": "只有店长可以打开此页面。",
    "This needs the service; you are logged in offline.": "此操作需要连接服务;当前为离线登录。",
    # login
    "Staff login": "员工登录",
    "Staff id": "员工编号",
    "PIN": "密码",
    "Log in": "登录",
    "Checking…": "验证中…",
    "Store {store} · terminal {terminal}": "门店 {store} · 终端 {terminal}",
    "Logged in offline: the service cannot be reached.": "离线登录:无法连接服务。",
    # counter
    "Voucher code": "券码",
    "Type or scan a voucher code, then Enter": "输入或扫描券码,然后按回车",
    "Basket amount (optional)": "订单金额(可选)",
    "e.g. 620 or 620.50": "例如 620 或 620.50",
    "Goods (when the promotion counts them)": "商品(促销按商品计算时)",
    'Add: SKU price [promotion price] [seq=N] [num=N] [gift]; … or a CSV file': '添加:SKU 价格 [促销价] [seq=N] [num=N] [gift];… 或 CSV 文件',
    'Bind': '绑定',
    'Bind the coupon to SKUs of a channel plan': '将券绑定到推广计划的商品',
    'Bind {id} to a channel plan': '将 {id} 绑定到推广计划',
    'Bound; in effect from {day}.': '已绑定,{day} 起生效。',
    'Campaign id': '活动编号',
    'Cancel push': '取消推送',
    'Cancel push {id}?': '取消推送 {id}?',
    'Cancel the selected push (24 hours ahead)': '取消所选推送(需提前24小时)',
    'Cannot read the goods: {error}': '无法读取商品:{error}',
    'Cannot read {path}: {error}': '无法读取 {path}:{error}',
    'Claim from (YYYY-MM-DD HH:MM, empty: any time)': '领券开始(YYYY-MM-DD HH:MM,留空:不限)',
    'Claim until (YYYY-MM-DD HH:MM)': '领券结束(YYYY-MM-DD HH:MM)',
    'Claims per customer': '每人限领',
    'Comment (at most 200 bytes)': '活动备注(不超过200字节)',
    'Coupon pushes (one a week)': '优惠券推送(每周一次)',
    'Coupon pushes by e-mail: schedule, preview, cancel': '邮件推送优惠券:申请、预览、取消',
    'Coupon title (at most 15)': '卡券标题(不超过15字)',
    'Followed from / to (YYYY-MM-DD; empty: all followers)': '关注日期 起/止(YYYY-MM-DD;留空:全部粉丝)',
    'Given': '赠送数',
    'Goods': '商品',
    'Goods of {id}': '{id} 的商品',
    'Goods shown in the mail (SKUs, at most 16)': '邮件中展示的商品(最多16个 SKU)',
    'Goods that count (order-total)': '参加商品(总价促销)',
    'Least promoted items per order (0: none)': '单次最少购买数量(0:不限)',
    'May be given to a friend': '可赠送给好友',
    'Member level (and above)': '会员等级(及以上)',
    'Merchant name on the coupon (at most 10)': '商家名称(不超过10字)',
    'Most promoted items per order (0: no limit)': '单次最多购买数量(0:不限)',
    'New coupon push': '新建优惠券推送',
    'New push': '新建推送',
    'One promoted item per order': '限购一个',
    'Order numbers file (CSV or Excel, column A)': '订单号文件(CSV 或 Excel,A 列)',
    'Order rule (order-total; none: the coupon discount above)': '订单规则(总价促销;不选:使用上面的优惠)',
    "Order rule M (items; yuan for 'any N for M' and 'spend M')": '订单规则 M(件;“M元任选N件”和“满减送”为元)',
    "Order rule N (items; tenths such as 8.5 for 'M items at N tenths')": '订单规则 N(件;“M件N折”为折数,如 8.5)',
    'Place': '次序',
    'Plan': '计划',
    'Price': '价格',
    'Promotion price': '促销价',
    'Push {id} cancelled.': '推送 {id} 已取消。',
    'Push {id} scheduled.': '推送 {id} 已申请。',
    'Pushes': '推送',
    'Report': '报表',
    'SKUs (comma separated)': 'SKU(逗号分隔)',
    "Save the campaign's redemptions and sales as CSV": '将活动的核销与销售保存为 CSV',
    'Save the order-number template (Excel)': '保存订单号模板(Excel)',
    'Saved {path}': '已保存 {path}',
    'Schedule a coupon push': '申请优惠券推送',
    'Send at': '发送时间',
    'Send date (one of the next three days)': '发送日期(次日起3日内)',
    'Send time (10:00 to 22:00)': '发送时间(10:00~22:00)',
    "One push a week: this one takes week {week} ({monday} to {sunday}); no other push can be scheduled for that week unless it is cancelled.":
        "每周只能推送一次:此推送占用第 {week} 周({monday} 至 {sunday}),除非取消,该周不能再申请其他推送。",
    "Week {week} already has push {id}: choose a day in another week, or cancel that push first.":
        "第 {week} 周已有推送 {id}:请选择另一周的日期,或先取消该推送。",
    "It can be cancelled until {time} (24 hours before it is sent).": "可在 {time} 之前取消(发送前 24 小时)。",
    "Once saved it cannot be cancelled: it is sent in less than 24 hours.": "保存后不能取消:距发送不足 24 小时。",
    'Sent': '已发送',
    'Share with affiliates (cannot be changed later)': '分享给联盟推广(创建后不可更改)',
    'Single item: reward voucher (yuan, multiple of 10)': '单品促销:奖励京券(元,10的倍数)',
    'Skipped': '已跳过',
    'Slogan (at most 50 characters)': '广告语(不超过50字)',
    'Spend-and-get: added price for the gift (yuan)': '满减送:加价金额(元)',
    'Spend-and-get: gift SKU': '满减送:赠品 SKU',
    'Spend-and-get: yuan off': '满减送:减金额(元)',
    'Template': '模板',
    "The promotion's SKUs: add a batch": '促销商品:批量添加',
    'Usage conditions': '使用条件',
    'advertising: to followers': '广告型:推送给粉丝',
    'all but the listed SKUs': '部分商品不参加',
    'all goods': '全场参加',
    'compensation: to buyers of orders': '补偿型:推送给订单买家',
    'only the listed SKUs': '部分商品参加',
    '{n} added; {total} in all.': '已添加 {n} 个,共 {total} 个。',
    '{n} will receive it, {skipped} skipped (opted out or no verified address).': '{n} 位将收到,{skipped} 位跳过(拒收或邮箱未验证)。',
    'registered': '注册会员',
    'bronze': '铜牌',
    'silver': '银牌',
    'gold': '金牌',
    'diamond': '钻石',
    'items_off': '满M件减N件',
    'price_for_items': 'M元任选N件',
    'items_tenths': 'M件N折',
    'spend_off_gift': '满减送',
    'advertising': '广告型',
    'compensation': '补偿型',
    'scheduled': '待发送',
    'cancelled': '已取消',
    'sending': '发送中',
    'sent': '已发送',
    'main': '主商品',
    "e.g. A100*2, B200@15.00, 12.50*3": "例如 A100*2, B200@15.00, 12.50*3",
    "This promotion counts the goods: type them (SKU*qty or price*qty) and press Enter.":
        "该促销按商品计算:请输入商品(SKU*数量 或 单价*数量)后按回车。",
    "Hand over": "请交付赠品",
    "Ready for the next voucher.": "请扫描下一张券。",
    "Checking {code}…": "正在核验 {code}…",
    "This voucher needs the basket amount: type it and press Enter.": "此券需要订单金额:请输入后按回车。",
    "The amount is not a number of yuan: {text}": "金额格式不正确:{text}",
    "ACCEPTED": "核销成功",
    "REFUSED": "拒绝",
    "{amount} off": "优惠 {amount}",
    "accepted offline": "离线核销",
    "This shift": "本班核销",
    "Time": "时间",
    "Code": "券码",
    "Campaign": "活动",
    "Discount": "优惠",
    "Mode": "方式",
    "online": "在线",
    "offline": "离线",
    "undone": "已撤销",
    "Online": "在线",
    "Offline": "离线",
    "{n} waiting to upload": "{n} 笔待上传",
    "Undo": "撤销",
    "Undo the selected redemption": "撤销所选核销",
    "Undo the redemption of {code} ({discount} off)?": "撤销券 {code} 的核销(优惠 {discount})?",
    "Yes, undo": "确认撤销",
    "No": "取消",
    "Undone: {code}.": "已撤销:{code}。",
    "Undone: {code} (the service hears of it at the next sync).": "已撤销:{code}(下次同步时通知服务)。",
    "Select a redemption in the list first.": "请先在列表中选择一笔核销。",
    "Focus the code input": "回到券码输入框",
    "Camera": "摄像头",
    "Switch the camera scanner on or off": "开关摄像头扫码",
    "Preview": "预览",
    "Switch the camera preview on or off": "开关摄像头预览",
    "Camera off. Press F8 to scan with the camera.": "摄像头已关闭。按 F8 用摄像头扫码。",
    "Camera: {message}": "摄像头:{message}",
    "Camera on ({source}).": "摄像头已开启({source})。",
    "Two codes in view: show one voucher at a time.": "画面中有两张券码:请一次只出示一张。",
    "Back online: uploading {n} offline redemption(s)…": "已恢复在线:正在上传 {n} 笔离线核销…",
    "Close the app and end {name}'s shift? Offline redemptions stay in the outbox.":
        "关闭程序并结束 {name} 的班次?离线核销仍保留在待上传队列中。",
    "Yes, quit": "是,退出",
    "Close the app (asks first while a shift is open)": "关闭程序(班次进行中会先确认)",
    "redeem": "核销",
    "cancel": "撤销",
    "void": "作废",
    "Camera support is not installed ({error}).": "未安装摄像头支持({error})。",
    "Something went wrong ({what}: {error}). Nothing was lost; the counter keeps working. Details are in {log}.":
        "出现错误({what}:{error})。没有丢失任何数据,收银台可继续使用。详情见 {log}。",
    "Uploaded {n}; {c} conflict(s).": "已上传 {n} 笔;冲突 {c} 笔。",
    # back office
    "Filter": "筛选",
    "All statuses": "全部状态",
    "All kinds": "全部类型",
    "Status": "状态",
    "Kind": "类型",
    "Name": "名称",
    "Begins": "开始",
    "Ends": "结束",
    "Issued": "已发",
    "Redeemed": "已核销",
    "New": "新建",
    "Create a campaign": "新建活动",
    "Edit": "编辑",
    "Edit the selected campaign": "编辑所选活动",
    "Next page": "下一页",
    "Previous page": "上一页",
    "Refresh": "刷新",
    "Reload from the service": "从服务重新加载",
    "Page {page} of {pages} · {total} campaign(s)": "第 {page}/{pages} 页 · 共 {total} 个活动",
    "Submit": "提交审核",
    "Approve": "审核通过",
    "Reject": "驳回",
    "Pause": "暂停",
    "Resume": "重启",
    "End": "结束",
    "Delete": "删除",
    "{action}: {campaign} is now {status}.": "{action}:{campaign} 现为 {status}。",
    "{action} {campaign}?": "{action} {campaign}?",
    "{action} {id} “{name}”? {issued} issued, {redeemed} redeemed.": "{action} {id}“{name}”?已发 {issued} 张,已核销 {redeemed} 张。",
    "Its vouchers are refused from now on. This cannot be undone.": "此后它的券都将被拒绝。此操作不可撤销。",
    "It leaves the list and its vouchers are refused. This cannot be undone.": "活动将移出列表,它的券都将被拒绝。此操作不可撤销。",
    "It goes back to be edited and submitted again; the reason is shown with it.": "活动将退回修改后重新提交;驳回原因随活动显示。",
    "Reason (its author reads it; at most 200 characters)": "驳回原因(创建者可见;不超过200字)",
    "Ctrl+S rejects from any field · Esc cancels": "在任一栏按 Ctrl+S 驳回 · Esc 取消",
    "Rejected by {staff} ({time}): {reason}": "{staff} 于 {time} 驳回:{reason}",
    "{id} has {n} redemption(s): it cannot be deleted; end it instead (x).": "{id} 已有 {n} 笔核销:不能删除,请改为结束(x)。",
    "{campaign} is {status} now: {action} is not open to it.": "{campaign} 当前为{status},不能{action}。",
    "Say why the campaign is rejected, in 1 to 200 characters; its author reads it.": "请填写驳回原因(1–200 字),活动创建者会看到。",
    "New campaign": "新建活动",
    "Edit campaign {id}": "编辑活动 {id}",
    "Id": "编号",
    "Begins at (YYYY-MM-DD HH:MM)": "开始时间(YYYY-MM-DD HH:MM)",
    "Ends at (YYYY-MM-DD HH:MM)": "结束时间(YYYY-MM-DD HH:MM)",
    "Amount off (yuan)": "立减金额(元)",
    "Percent off": "折扣百分比",
    "Cap (yuan)": "封顶(元)",
    "Minimum spend (yuan)": "最低消费(元)",
    "Quantity (empty: no limit)": "数量(留空不限)",
    "Stores (empty: all; e.g. S001,S002)": "门店(留空为全部;如 S001,S002)",
    "Valid days after claiming (empty: the campaign's time)": "领取后有效天数(留空按活动时间)",
    "Per customer": "每人限用",
    "Undo window (minutes)": "撤销时限(分钟)",
    "Save": "保存",
    "Cancel": "取消",
    "Saved {id}: it waits for review.": "已保存 {id}:等待审核。",
    "Saved {id}.": "已保存 {id}。",
    "Not a date and time: {text}": "日期时间格式不正确:{text}",
    "Not a number: {text}": "不是数字:{text}",
    "Add staff": "添加员工",
    "Add a staff member": "添加员工",
    "Role": "角色",
    "Verifies in": "核销门店",
    "all stores": "全部门店",
    "nowhere": "无",
    "Rights": "权限",
    "Set verifier rights for the selected staff member": "设置所选员工的核销权限",
    "Revoke": "撤销权限",
    "Revoke the selected staff member's verifier right": "撤销所选员工的核销权限",
    "Verifier rights for {staff}": "{staff} 的核销权限",
    "All stores": "全部门店",
    "Chosen stores (e.g. S001,S002)": "指定门店(如 S001,S002)",
    "{staff} may now verify in {where}; terminals apply it at their next catalog pull.":
        "{staff} 现可在 {where} 核销;终端下次拉取目录后生效。",
    "{staff} may no longer verify vouchers.": "{staff} 不再有核销权限。",
    "Added {staff}.": "已添加 {staff}。",
    "Time zone of these times and of the claim and push days (IANA name)": "时区(以上时间及领券、推送日期所用,IANA 名称)",
    "Unknown time zone.": "未知时区。",
    "Store zones": "门店时区",
    "The stores' time zones; move a store to another": "各门店的时区;可将门店改到另一时区",
    "Stores and their time zones": "门店及其时区",
    "Time zone (IANA name, e.g. Asia/Shanghai)": "时区(IANA 名称,如 Asia/Shanghai)",
    "{store} keeps {zone} time; its tills follow at their next catalog pull.":
        "{store} 改用 {zone} 时间;其终端在下次拉取目录后更新。",
    "Unlock": "解锁",
    "Clear the selected staff member's wrong PINs and lockout": "清除所选员工的密码错误次数与锁定",
    "New PIN": "新密码",
    "Give the selected staff member a new PIN": "为所选员工设置新密码",
    "Locked": "锁定",
    "locked until {time}": "锁定至 {time}",
    "{n} wrong PIN(s)": "密码错误 {n} 次",
    "Unlock {staff}?": "解锁 {staff}?",
    "{staff} is unlocked.": "{staff} 已解锁。",
    "New PIN for {staff}": "{staff} 的新密码",
    "A cashier's PIN is 4 to 8 digits, a manager's 6 to 8.": "收银员密码为 4–8 位数字,店长密码为 6–8 位。",
    "New PIN again": "再次输入新密码",
    "The two PINs differ: type the same PIN twice.": "两次输入的密码不一致:请输入相同的密码。",
    "{staff} has a new PIN; the tills where they verify receive it at their next catalog pull.":
        "{staff} 已设置新密码;其可核销门店的终端在下次拉取目录后更新。",
    "Issue": "发券",
    "Issue a batch for the chosen campaign": "为所选活动发一批券",
    "Export CSV": "导出 CSV",
    "Write the codes to a CSV file": "将券码写入 CSV 文件",
    "How many": "数量",
    "Customer (optional)": "客户(可选)",
    "CSV file": "CSV 文件",
    "Issued {n} voucher(s) for {campaign}.": "已为 {campaign} 发券 {n} 张。",
    "Wrote {n} code(s) to {path}.": "已写入 {n} 个券码到 {path}。",
    "Issue a batch first.": "请先发券。",
    "Cannot write {path}: {error}": "无法写入 {path}:{error}",
    "Sync now": "立即同步",
    "Upload the outbox and pull the catalog": "上传待传记录并拉取目录",
    "Waiting in the outbox": "待上传",
    "Conflicts from uploads": "上传冲突",
    "Ours": "本机",
    "Theirs": "服务端",
    "Reason": "原因",
    "Kind of item": "类型",
    "Since": "时间",
    "Syncing…": "同步中…",
    "Uploaded {n} item(s), pulled {p} catalog row(s), {c} conflict(s).": "已上传 {n} 项,拉取目录 {p} 行,冲突 {c} 项。",
    "Sync failed: {error}": "同步失败:{error}",
    "Day": "日期",
    "Store": "门店",
    "Count": "笔数",
    "Amount": "金额",
    "Redemptions per day, last {days} days ({zone})": "近 {days} 天每日核销({zone})",
    "Write the report to a CSV file": "将报表写入 CSV 文件",
    "The service cannot be reached: {error}": "无法连接服务:{error}",
    "Refused: {message}": "被拒绝:{message}",
    "Try these vouchers": "可试用的券",
    # pos demo: the vouchers to try at its counter, what it says as it ends, and its walk (pos demo --walk)
    "Good: Spring 30 off (basket ≥ 500)": "可用:Spring 30 off(订单满 500)",
    "Good: VIP 5% as a signed QR code": "可用:VIP 5% 折扣(签名二维码)",
    "Already used at the other till": "已在另一台收银机核销",
    "Expired: last winter": "已过期:去年冬季",
    "Wrong store: Station Road only": "门店不符:仅限 Station Road",
    "Not valid yet: summer": "尚未生效:夏季",
    "Withdrawn by the shop": "已被商家作废",
    "Forged: altered QR code": "伪造:被篡改的二维码",
    "Typo in a code": "券码输入有误",
    "Good: Spring, another one": "可用:另一张 Spring 券",
    "Demo files are in {workdir}/. Managers: log out (Ctrl+L) and log in as carol, PIN {carol}, or grace, PIN {grace} (a campaign one of them made, the other approves).":
        "演示文件在 {workdir}/。店长:退出登录(Ctrl+L),以 carol(密码 {carol})或 grace(密码 {grace})登录(其中一位创建的活动由另一位审核)。",
    "case": "情形",
    "verdict": "结果",
    "what the cashier reads": "收银员看到的说明",
    "Starting the redemption service on {url} …": "正在 {url} 启动核销服务…",
    "Terminal S001-T1 (store S001 Riverside) pulled {n} catalog rows.": "终端 S001-T1(门店 S001 Riverside)已拉取 {n} 行目录。",
    "At the counter, online": "收银台,在线",
    "At the counter, offline": "收银台,离线",
    "Spring voucher, basket 620.00": "Spring 券,订单 620.00",
    "The same voucher again": "同一张券再次核销",
    "VIP voucher as a signed QR code": "VIP 券(签名二维码)",
    "That QR code, altered": "该二维码被篡改",
    "A typo in a code": "券码输错一位",
    "Spring voucher, basket only 120.00": "Spring 券,订单仅 120.00",
    "Last winter's voucher": "去年冬季的券",
    "Summer voucher, not valid yet": "夏季券,尚未生效",
    "A Station Road voucher here": "在本店使用 Station Road 的券",
    "A withdrawn voucher": "已作废的券",
    "Bob (a cashier, not a verifier) scans one": "Bob(收银员,无核销权限)扫码",
    "The customer's second VIP voucher": "同一顾客的第二张 VIP 券",
    "(expected {expected})": "(应为 {expected})",
    "The network goes down": "网络中断",
    "(the service is stopped).": "(服务已停止)。",
    "Spring voucher, basket 550.00": "Spring 券,订单 550.00",
    "VIP voucher (needs the network)": "VIP 券(需联网)",
    "Outbox: {n} redemption(s) waiting.": "待上传:{n} 笔核销。",
    "The network is back": "网络恢复",
    "Uploaded: {results}; conflicts: {n}; outbox now {left}.": "已上传:{results};冲突:{n};待上传现为 {left}。",
    "Undo of {code} inside the 60-minute window: done.": "在 60 分钟撤销时限内撤销 {code}:完成。",
    "The service ran as {n} processes on PostgreSQL ({db}).": "服务以 {n} 个进程运行于 PostgreSQL({db})。",
    "Files are in {workdir}/: service.db, terminal.db, pos.toml. Try it by hand:": "文件在 {workdir}/:service.db、terminal.db、pos.toml。可以手动试试:",
    "{n} step(s) did not give the expected verdict.": "{n} 步未得到预期结果。",
    "Every step gave the expected verdict.": "每一步都得到了预期结果。",
    "Confirm": "确认",
    "Wrote {n} row(s) to {path}.": "已写入 {n} 行到 {path}。",
    "cashier": "收银员",
    "manager": "店长",
    # forms: keys, what a field needs, and the refusals they can show (the domain's and the service's own
    # sentences, by their English text)
    "Ctrl+S saves from any field · Esc cancels · Tab goes to the next field":
        "在任一栏按 Ctrl+S 保存 · Esc 取消 · Tab 到下一栏",
    "Ctrl+S saves from any field · Ctrl+O previews · Esc cancels · Tab goes to the next field":
        "在任一栏按 Ctrl+S 保存 · Ctrl+O 预览 · Esc 取消 · Tab 到下一栏",
    "This is not accepted.": "此项不符合要求。",
    "A value in this form is not accepted; check the fields.": "表单中有一项内容不符合要求,请检查各栏。",
    "{field} is required.": "请填写{field}。",
    "{field} needs at least {n} characters.": "{field}至少需要 {n} 个字符。",
    "{field} takes at most {n} characters.": "{field}最多 {n} 个字符。",
    "{field} takes at most {n} entries.": "{field}最多 {n} 项。",
    "{field} must be at least {n}.": "{field}不能小于 {n}。",
    "{field} must be more than {n}.": "{field}须大于 {n}。",
    "{field} must be at most {n}.": "{field}不能大于 {n}。",
    "{field} must be less than {n}.": "{field}须小于 {n}。",
    "{field} must be a whole number.": "{field}须为整数。",
    "{field} is not written the way it should be.": "{field}的格式不正确。",
    "{field} must be one of the offered choices.": "{field}须为可选项之一。",
    "{field} is not accepted as typed.": "{field}的内容不符合要求。",
    "Type a date and time such as 2026-12-01 09:00.": "请输入日期和时间,例如 2026-12-01 09:00。",
    "Followed from (YYYY-MM-DD; empty: all followers)": "关注日期起(YYYY-MM-DD;留空:全部粉丝)",
    "Followed until (YYYY-MM-DD)": "关注日期止(YYYY-MM-DD)",
    "Not a date: {text}. Type it as 2026-11-01.": "日期格式不正确:{text}。请按 2026-11-01 的格式输入。",
    "A compensation push needs the file of order numbers whose buyers get the coupon.":
        "补偿型推送需要订单号文件:这些订单的买家将收到优惠券。",
    "Not a SKU: {skus}. A SKU is letters, digits, '.', '-' or '_'.": "不是有效的 SKU:{skus}。SKU 由字母、数字、'.'、'-' 或 '_' 组成。",
    "Saving it would be refused: see the fields marked in red.": "保存将被拒绝:请查看标红的栏目。",
    "The goods to add": "要添加的商品",
    "The CSV file needs the columns sku and price.": "CSV 文件须有 sku 和 price 两列。",
    "{entry}: write the SKU and its price.": "{entry}:请写明 SKU 和价格。",
    "{sku}: {key} is a whole number.": "{sku}:{key} 须为整数。",
    "Choose the campaign to issue vouchers for.": "请选择要发券的活动。",
    "How many vouchers: a whole number from 1 to {max}.": "发券数量:1 到 {max} 之间的整数。",
    "The campaign id is 1 to 32 capital letters, digits, '-' or '_'.": "活动编号为 1–32 位大写字母、数字、'-' 或 '_'。",
    "The name must be 1 to 10 characters, with no spaces around it.": "名称须为 1–10 个字符,前后不能有空格。",
    "Begin and end times are given to the minute.": "开始和结束时间精确到分钟。",
    "The end must be at least one minute after the begin.": "结束时间须至少晚于开始 1 分钟。",
    "Begin and end may be at most 180 days apart.": "开始与结束最多相隔 180 天。",
    "An order rule or the goods' promotion prices decide the discount; leave the coupon discount empty.":
        "优惠由订单规则或商品促销价决定;请不要填写券的优惠。",
    "Give either an amount off or a percentage off, not both.": "请填写立减金额或折扣百分比,二选一。",
    "The amount off must be more than 0.": "立减金额须大于 0。",
    "The percentage off must be between 1 and 99.": "折扣百分比须在 1–99 之间。",
    "A cap (most taken off) goes with a percentage off and is more than 0.": "封顶(最多优惠)仅用于折扣,且须大于 0。",
    "The amount off cannot be more than the minimum spend.": "立减金额不能超过最低消费。",
    "The quantity must be between 1 and 3,000,000.": "数量须在 1–3,000,000 之间。",
    "Valid for 1 to 365 days after claiming.": "领取后有效 1–365 天。",
    "The validity must end after it starts.": "有效期的结束须晚于开始。",
    "Choose all stores or at least one store.": "请选择全部门店或至少一个门店。",
    "Give both ends of the claim window, or neither.": "领券时间须同时填写起止,或都不填。",
    "The claim window must end after it starts.": "领券结束时间须晚于开始。",
    "Vouchers cannot be claimed after the campaign ends.": "活动结束后不能领券。",
    "Purchase limits are 0 (no limit) or more.": "限购数量须为 0(不限)或以上。",
    "Only single-item and gift promotions take purchase limits.": "只有单品促销和赠品促销可设限购。",
    "A gift promotion's least purchase is at most 10 items.": "赠品促销的最少购买数量不超过 10 件。",
    "The least purchase cannot exceed the most.": "最少购买数量不能超过最多购买数量。",
    "Only order-total promotions take an order rule.": "只有总价促销可设订单规则。",
    "Money off, an added price and a gift belong to spend-and-get rules.": "减金额、加价和赠品仅用于满减送规则。",
    "Buy M items: M is a whole number from 3 to 20.": "满M件:M 为 3–20 的整数。",
    "M yuan is more than 0, to one decimal (for example 9.9).": "M 元须大于 0,精确到一位小数(例如 9.9)。",
    "Any N items: N is from 2 to 5.": "任选N件:N 为 2–5。",
    "M items: M is a whole number from 1 to 8.": "M件:M 为 1–8 的整数。",
    "At N tenths of the price: N is from 5 to 9.9, to one decimal.": "N折:N 为 5–9.9,精确到一位小数。",
    "Spend M yuan: M is a whole number of yuan, more than 0.": "满M元:M 为大于 0 的整数元。",
    "A spend-and-get rule has no N; give money off or a gift.": "满减送规则没有 N;请填写减金额或赠品。",
    "Give money off, a gift, or both.": "请填写减金额、赠品,或两者都填。",
    "Money off is a whole number of yuan, more than 0.": "减金额须为大于 0 的整数元。",
    "Money off is at most 80% of the amount to spend.": "减金额不超过满额的 80%。",
    "The added price is a whole number of yuan, more than 0.": "加价金额须为大于 0 的整数元。",
    "An added price needs a gift.": "加价需要赠品。",
    "Add at least one SKU.": "请至少添加一个 SKU。",
    "Only an approved campaign that has not ended can be pushed.": "只能推送已审核通过且未结束的活动。",
    "An advertising push goes to followers; order numbers are for compensation.": "广告型推送发给粉丝;订单号仅用于补偿型推送。",
    "Give both ends of the follow period, or neither (all followers).": "关注日期须同时填写起止,或都不填(全部粉丝)。",
    "The follow period must end on or after its start.": "关注日期的结束不能早于开始。",
    "A compensation push goes to buyers, not to followers.": "补偿型推送发给订单买家,而非粉丝。",
    "List the order numbers whose buyers get the coupon.": "请列出订单号:这些订单的买家将收到优惠券。",
    "The file has no order numbers in column A.": "文件 A 列中没有订单号。",
    "Upload a .csv or .xlsx file (the template has the layout).": "请上传 .csv 或 .xlsx 文件(格式见模板)。",
    "The CSV file is not UTF-8 text.": "CSV 文件不是 UTF-8 文本。",
    "Each customer may claim one voucher of this campaign at a time.": "每位顾客每次只能领取一张该活动的券。",
    "An amount is zero or more.": "金额须为 0 或以上。",
    # counter: verdicts, fixable refusals, camera hints
    "Scan": "扫码",
    "Back to the code input; drops a voucher waiting for its amount or goods": "回到券码输入框;放弃等待金额或商品的券",
    "Type or scan a code, then Enter": "输入或扫描券码后按回车",
    "e.g. 620.50": "例如 620.50",
    "AMOUNT NEEDED": "需要订单金额",
    "GOODS NEEDED": "需要商品",
    "Enter the basket amount for {voucher}.": "请输入 {voucher} 的订单金额。",
    "Minimum spend {minimum} — enter the basket amount for {voucher}.": "最低消费 {minimum}:请重新输入 {voucher} 的订单金额。",
    "The basket was {amount}.": "刚才的订单金额为 {amount}。",
    "List the goods bought for {voucher}: SKU*qty or price*qty.": "请列出 {voucher} 所购商品:SKU*数量 或 单价*数量。",
    "This promotion counts the goods bought.": "该促销按所购商品计算。",
    "Too few of the goods that count.": "参加促销的商品数量不足。",
    "The bundle is not complete.": "套装不完整。",
    "Too little spent on the goods that count.": "参加促销的商品金额不足。",
    "Enter: check again · Esc: drop this voucher": "回车:重新核验 · Esc:放弃此券",
    "{code} dropped: nothing was redeemed. Ready for the next voucher.": "已放弃 {code}:未核销。请扫描下一张券。",
    "{percent}% off": "优惠 {percent}%",
    "gift: {gifts}": "赠品:{gifts}",
    "New total {total} (basket {amount})": "应付 {total}(订单 {amount})",
    "UNDONE": "已撤销",
    "{voucher} can be used again; {amount} is no longer given.": "{voucher} 可再次使用;{amount} 的优惠已取消。",
    "The service hears of it at the next sync.": "下次同步时通知服务。",
    "You may not verify vouchers in store {store}; ask a manager to add you as a verifier.":
        "您无权在门店 {store} 核销券;请店长将您添加为核销员。",
    "The back office (F2–F7) is open to you.": "您仍可使用后台(F2–F7)。",
    "No code in view: hold the QR code up to the camera.": "画面中没有券码:请将二维码对准摄像头。",
    "Moving: hold still.": "画面在晃动:请拿稳。",
    "Off-centre: centre the code.": "位置偏了:请将券码移到画面中央。",
    "Too small: move closer.": "券码太小:请靠近摄像头。",
    "Blurred (sharpness {sharpness}): hold still.": "模糊(清晰度 {sharpness}):请拿稳。",
    "In focus and framed (sharpness {sharpness}).": "清晰且位置合适(清晰度 {sharpness})。",
    "No camera is on, so there is no preview. Press F8 to switch the camera on.": "摄像头未开启,没有预览。按 F8 开启摄像头。",
    "Camera {n} stopped sending pictures (unplugged?). Press F8 to start it again.":
        "摄像头 {n} 已停止传送画面(是否已拔出?)。按 F8 重新开启。",
    "The stream {url} has ended. Press F8 to start it again.": "视频流 {url} 已结束。按 F8 重新开启。",
    "The video file {path} has ended after {frames} frames. Press F8 to play it again.":
        "视频文件 {path} 已播放完毕,共 {frames} 帧。按 F8 重新播放。",
    # back office: lookup, staff, reports, conflicts
    "Look up": "查券",
    "Look up one voucher: its status and history; revoke, print again": "查询一张券:状态与记录;作废、重新打印",
    "Look up a voucher": "查询券",
    "Back": "返回",
    "Back to the screen this was opened from": "回到打开此页面前的页面",
    "Revoke voucher": "作废券",
    "Revoke this voucher, saying why": "作废此券,并说明原因",
    "Print again": "重新打印",
    "Save its QR image and a printable sheet": "保存其二维码图片和可打印的券页",
    "Type or scan a code to see what became of it.": "输入或扫描券码,查看此券的情况。",
    "VALID: it can be redeemed": "有效:可以核销",
    "REDEEMED: it cannot be used again": "已核销:不能再次使用",
    "REVOKED: withdrawn by the shop": "已作废:商家已收回",
    "EXPIRED": "已过期",
    "NOT VALID YET": "尚未生效",
    "CAMPAIGN NOT RUNNING": "活动未进行",
    "Claimed": "领取",
    "Undone": "已撤销",
    "Voided": "已作废(未知结果)",
    "Conflict": "冲突",
    "Revoked": "已作废",
    "History": "记录",
    "When": "时间",
    "What": "事件",
    "Where": "地点",
    "Who": "经办人",
    "Detail": "详情",
    "basket {amount}": "订单 {amount}",
    "by customer {customer}": "顾客 {customer}",
    "settled by {staff}": "已由 {staff} 处理",
    "Campaign {id} “{name}” ({status})": "活动 {id}“{name}”({status})",
    "Valid {start} to {end}": "有效期 {start} 至 {end}",
    "customer {customer}": "顾客 {customer}",
    "Revoked by {staff} at {time}: {reason}": "{staff} 于 {time} 作废:{reason}",
    "no reason was recorded": "未记录原因",
    "Revoke voucher {code}?": "作废券 {code}?",
    "Ctrl+S revokes from any field · Esc cancels": "在任一栏按 Ctrl+S 作废 · Esc 取消",
    "Now: {status}. Tills refuse it from their next catalog pull; it cannot be undone.":
        "当前:{status}。各收银台下次拉取目录后将拒绝此券;作废后不能恢复。",
    "Reason (kept with the voucher and in the audit; at most 200 characters)": "原因(随券保存并记入审计;不超过 200 字)",
    "Voucher {code} is revoked; tills refuse it from their next catalog pull.": "券 {code} 已作废;各收银台下次拉取目录后将拒绝此券。",
    "Saved its QR image {image} and a sheet to print, {sheet}.": "已保存二维码图片 {image} 和可打印的券页 {sheet}。",
    "Edit {staff}": "编辑 {staff}",
    "Change the selected staff member's name or role": "修改所选员工的姓名或角色",
    "New PIN (to make them a manager; else leave it empty)": "新密码(设为店长时必填;否则留空)",
    "Deactivate": "停用",
    "Reactivate": "恢复启用",
    "Stop the selected staff member from logging in anywhere": "禁止所选员工在任何地方登录",
    "Let the selected staff member log in again": "允许所选员工重新登录",
    "Deactivate {staff}? They cannot log in from now on (at a till: after its next catalog pull).":
        "停用 {staff}?从现在起不能登录(收银台在下次拉取目录后生效)。",
    "Reactivate {staff}? They can log in again.": "恢复启用 {staff}?其可重新登录。",
    "{staff} is deactivated.": "{staff} 已停用。",
    "{staff} can log in again.": "{staff} 可重新登录。",
    "{staff} is now {name}, {role}; tills show it from their next catalog pull.": "{staff} 现为 {name},{role};各收银台下次拉取目录后显示。",
    "State": "状态",
    "active": "在职",
    "deactivated": "已停用",
    "Chosen stores": "所选门店",
    "Space ticks a store · Ctrl+S saves · Esc cancels · Tab goes to the next field": "空格勾选门店 · Ctrl+S 保存 · Esc 取消 · Tab 下一栏",
    "last {n} days": "最近 {n} 天",
    "per day": "按日",
    "per campaign": "按活动",
    "per store": "按门店",
    "Total: {n} redemption(s), {discount} off, {amount} of sales": "合计:核销 {n} 笔,优惠 {discount},销售额 {amount}",
    "Redemptions per day, {first} to {last} ({zone})": "每日核销,{first} 至 {last}({zone})",
    "{k} days a bar": "每柱 {k} 天",
    "Discount (yuan)": "优惠(元)",
    "Sales (yuan)": "销售额(元)",
    "Write what is shown to a CSV file": "将当前显示的内容写入 CSV 文件",
    "Last successful sync: {time}": "上次成功同步:{time}",
    "No sync has gone through on this till yet.": "本收银台尚未成功同步过。",
    "waiting": "等待上传",
    "on its way": "上传中",
    "accepted": "已接受",
    "conflict": "冲突",
    "withdrawn": "已撤回",
    "voided": "已作废",
    "error": "出错",
    "Till": "收银台",
    "Recorded": "记录时间",
    "Settled": "处理情况",
    "open": "待处理",
    "settled by {staff}, {time}": "{staff} 已处理,{time}",
    "Conflicts from uploads, every till: {n} open": "各收银台上传冲突:{n} 条待处理",
    "Conflicts from this till's uploads (settled at the service, when it can be reached)": "本收银台的上传冲突(连上服务后在服务端处理)",
    "{message} Ours: {ours}. Theirs: {theirs}.": "{message} 本方:{ours}。对方:{theirs}。",
    "Mark settled": "标记已处理",
    "Mark the selected conflict settled, with a note": "将所选冲突标记为已处理,并附说明",
    "Settled too": "含已处理",
    "Show the settled conflicts too, or the open ones only": "同时显示已处理的冲突,或只显示待处理的",
    "Settle": "处理",
    "Settle the conflict over {code}?": "处理券 {code} 的冲突?",
    "Ctrl+S settles from any field · Esc cancels": "在任一栏按 Ctrl+S 标记已处理 · Esc 取消",
    "{reason} at {till} ({staff}): {message}": "{reason},收银台 {till}({staff}):{message}",
    "Note: what was done (optional; at most 200 characters)": "说明:做了什么处理(可选;不超过 200 字)",
    "The conflict over {code} is settled.": "券 {code} 的冲突已处理。",
}

#: Sentences for stable codes: verdict reasons, service and domain error codes.
CODES: dict[str, tuple[str, str]] = {
    "ok": ("Accepted", "核销成功"),
    "malformed": ("Not a voucher code (typo?)", "不是有效券码(输入有误?)"),
    "forged": ("Not genuine: signature does not match", "券码伪造:签名不符"),
    "unknown_code": ("Unknown voucher", "未知券码"),
    "revoked": ("Voucher withdrawn", "券已作废"),
    "not_yet_valid": ("Not valid yet", "尚未生效"),
    "expired": ("Expired", "已过期"),
    "campaign_inactive": ("Campaign not running", "活动未进行"),
    "store_not_allowed": ("Not valid in this store", "本店不可用"),
    "staff_not_verifier": ("You may not verify vouchers here", "您无权在此核销"),
    "already_redeemed": ("Already redeemed", "已核销过"),
    "rules_not_met": ("Conditions not met", "未满足使用条件"),
    "limit_reached": ("Customer's limit reached", "已达每人限用次数"),
    "offline_not_allowed": ("Needs the network: try again when online", "需联网核销:请恢复网络后重试"),
    "login.failed": ("Wrong staff number or PIN.", "员工编号或密码错误。"),
    "login.offline_failed": ("Wrong staff number or PIN. (Without the service, only this store's cashiers can log in.)",
                             "员工编号或密码错误。(离线时仅本店收银员可登录。)"),
    "login.locked": ("Too many wrong PINs: locked for 15 minutes.", "密码错误次数过多:锁定 15 分钟。"),
    "login.incomplete": ("Type your staff id and PIN.", "请输入员工编号和密码。"),
    "role.manager_required": ("Only a manager may do this.", "只有店长可以执行此操作。"),
    "campaign.id.invalid": ("The id is 1 to 32 capital letters, digits, '-' or '_'.", "编号为 1–32 位大写字母、数字、'-' 或 '_'。"),
    "campaign.id.taken": ("There is already a campaign with this id.", "已存在相同编号的活动。"),
    "campaign.name.invalid": ("The name must be 1 to 10 characters.", "名称须为 1–10 个字符。"),
    "campaign.time.invalid": ("End 1 minute to 180 days after begin, to the minute.", "结束时间须晚于开始 1 分钟至 180 天,精确到分钟。"),
    "campaign.end.invalid": ("The end must be in the future.", "结束时间须晚于当前时间。"),
    "campaign.discount.invalid": ("Give an amount off or a percentage (1–99), not both.", "请填写立减金额或折扣(1–99),二选一。"),
    "campaign.cap.invalid": ("A cap goes with a percentage off and is more than 0.", "封顶仅用于折扣,且须大于 0。"),
    "campaign.min_spend.invalid": ("The minimum spend cannot be negative.", "最低消费不能为负。"),
    "campaign.quantity.invalid": ("The quantity must be 1 to 3,000,000.", "数量须为 1–3,000,000。"),
    "campaign.validity.invalid": ("Valid 1 to 365 days, or a window that ends after it starts.", "有效期为 1–365 天,或结束晚于开始的时间段。"),
    "campaign.stores.invalid": ("Choose all stores or known stores.", "请选择全部门店或已有门店。"),
    "campaign.cancel_window.invalid": ("The undo window is 0 to 1,440 minutes.", "撤销时限为 0–1440 分钟。"),
    "campaign.timezone.invalid": ("Unknown time zone.", "未知时区。"),
    "campaign.non.edit": ("Only a campaign not yet approved, or rejected, can be edited.", "仅未审核或已驳回的活动可编辑。"),
    "pin.invalid": ("A PIN is 4 to 8 digits.", "密码为 4–8 位数字。"),
    "pin.manager_short": ("A manager's PIN is 6 to 8 digits.", "店长密码为 6–8 位数字。"),
    "staff.id.invalid": ("A staff id is 1 to 32 small letters, digits, '.', '-' or '_'.", "员工编号为 1–32 位小写字母、数字、'.'、'-' 或 '_'。"),
    "staff.id.taken": ("There is already a staff member with this id.", "已存在相同编号的员工。"),
    "store.not_found": ("No such store.", "没有该门店。"),
    "store.timezone.invalid": ("Unknown time zone: use an IANA name such as Asia/Shanghai.", "未知时区:请使用 IANA 名称,如 Asia/Shanghai。"),
    "staff.not_found": ("No such staff member.", "没有该员工。"),
    "campaign.four_eyes": ("Four eyes: a manager other than the one who created or last edited this campaign must approve it.",
                           "四眼原则:须由创建或最后修改此活动的店长以外的另一位店长审核。"),
    # what a form or a back-office screen can be refused with
    "campaign.begin.invalid": ("The begin may be at most 180 days from now.", "开始时间最多在 180 天之后。"),
    "campaign.slogan.invalid": ("The slogan is at most 50 characters.", "广告语不超过 50 字。"),
    "campaign.comment.invalid": ("The comment is at most 200 bytes (a Chinese character takes 3).",
                                 "活动备注不超过 200 字节(一个汉字占 3 字节)。"),
    "campaign.merchant.invalid": ("The merchant name is at most 10 characters.", "商家名称不超过 10 字。"),
    "campaign.title.invalid": ("The coupon title is at most 15 characters.", "卡券标题不超过 15 字。"),
    "campaign.conditions.invalid": ("The usage conditions are at most 200 characters.", "使用条件不超过 200 字。"),
    "campaign.claim.invalid": ("Give both ends of the claim window, the end after the start and by the campaign's end.",
                               "领券时间须同时填写起止,结束晚于开始且不晚于活动结束。"),
    "campaign.offline.invalid": ("The offline limit cannot be negative.", "离线优惠上限不能为负。"),
    "campaign.affiliates.immutable": ("Sharing with affiliates is chosen when the campaign is created and cannot be changed.",
                                      "是否分享给联盟推广在创建时选定,之后不可更改。"),
    "campaign.scope.invalid": ("Only order-total promotions choose which goods count.", "只有总价促销可选择参加商品。"),
    "campaign.invalid": ("The campaign cannot be read; check the fields.", "无法读取活动内容,请检查各栏。"),
    "campaign.non.exist": ("No such campaign.", "没有该活动。"),
    "campaign.non.submit": ("This campaign cannot be submitted in its present state.", "该活动当前状态不能提交审核。"),
    "campaign.non.approve": ("Only a campaign in review can be approved.", "只有审核中的活动可以审核通过。"),
    "campaign.non.reject": ("Only a campaign in review can be rejected.", "只有审核中的活动可以驳回。"),
    "campaign.non.pause": ("Only an active campaign can be paused.", "只有已生效的活动可以暂停。"),
    "campaign.non.force_pause": ("Only an active campaign can be paused.", "只有已生效的活动可以暂停。"),
    "campaign.non.resume": ("Only a paused campaign can be resumed.", "只有已暂停的活动可以重启。"),
    "campaign.non.end": ("This campaign cannot be ended in its present state.", "该活动当前状态不能结束。"),
    "campaign.non.delete": ("This campaign cannot be deleted in its present state.", "该活动当前状态不能删除。"),
    "campaign.delete.redeemed": ("A campaign with redemptions cannot be deleted: end it instead.", "已有核销的活动不能删除:请改为结束。"),
    "campaign.reject.reason": ("Say why the campaign is rejected, in 1 to 200 characters.", "请填写驳回原因(1–200 字)。"),
    "promo.member.invalid": ("Unknown member level.", "未知会员等级。"),
    "activitymode.invalid": ("The purchase limits do not fit this promotion.", "限购设置不适用于此促销。"),
    "prop.type.invalid": ("Only single-item promotions hand out a reward voucher.", "只有单品促销可发放奖励京券。"),
    "prop.num.invalid": ("A reward voucher is worth a multiple of 10 yuan.", "奖励京券面额须为 10 元的倍数。"),
    "promo.favorMode.invalid": ("This order rule does not fit the promotion.", "此订单规则不适用于该促销。"),
    "promo.bound.invalid": ("M yuan for any N items works only on listed goods.", "“M元任选N件”仅适用于部分商品参加。"),
    "ordermode.minus.invalid": ("The money off does not fit the order rule.", "减金额不符合订单规则。"),
    "ordermode.quota.invalid": ("Order rule M is outside what the chosen rule allows.", "订单规则 M 超出所选规则的范围。"),
    "ordermode.rate.invalid": ("Order rule N is outside what the chosen rule allows.", "订单规则 N 超出所选规则的范围。"),
    "ordermode.plus.invalid": ("The added price is a whole number of yuan, more than 0, and needs a gift.",
                               "加价金额须为大于 0 的整数元,且须有赠品。"),
    "promo.sku.invalid": ("The promotion has no goods, or too many.", "促销商品缺失或过多。"),
    "ware.num.invalid": ("A bundle has 2 to 7 goods.", "套装须有 2–7 件商品。"),
    "sku.skuId.invalid": ("Not a SKU, or already in this promotion.", "SKU 无效,或已在此促销中。"),
    "sku.jdPrice.invalid": ("The list price is more than 0, to 0.1 yuan.", "原价须大于 0,精确到 0.1 元。"),
    "sku.promoPrice.invalid": ("The promotion price is more than 0, below the list price, to 0.1 yuan.",
                               "促销价须大于 0、低于原价,精确到 0.1 元。"),
    "sku.seq.invalid": ("A place (1 to 7) is given only in a bundle, and a bundle's places run without gaps.",
                        "次序(1–7)仅用于套装,且须连续。"),
    "sku.bindType.invalid": ("Only gift and order-total promotions give gifts.", "只有赠品促销和总价促销可设赠品。"),
    "sku.num.invalid": ("A gift is given 1 to 3 times; only gifts have a number given.", "赠品赠送 1–3 个;只有赠品有赠送数。"),
    "sku.batch.invalid": ("Add at most 100 SKUs at a time.", "每次最多添加 100 个 SKU。"),
    "sku.non.exist": ("No such SKU in this promotion.", "此促销中没有该 SKU。"),
    "param.error": ("Something in the form cannot be read; check the fields.", "表单内容无法读取,请检查各栏。"),
    "push.coupon.invalid": ("Only an approved campaign that has not ended can be pushed.", "该活动不存在、未审核通过或已结束,不能推送。"),
    "push.date.invalid": ("The send date is one of the next three days.", "发送日期须为次日起 3 日内。"),
    "push.time.invalid": ("The send time is 10:00 to 22:00, on the hour or half past.", "发送时间为 10:00–22:00 的整点或半点。"),
    "push.week.taken": ("There is already a push that week: one a week.", "该周已有推送:每周一次。"),
    "push.orders.invalid": ("The order numbers do not fit this push.", "订单号不适用于此推送。"),
    "push.orders.unknown": ("Some order numbers are unknown.", "部分订单号不存在。"),
    "push.followers.invalid": ("The follow period does not fit this push.", "关注日期不适用于此推送。"),
    "push.items.invalid": ("Show at most 16 goods.", "最多展示 16 个商品。"),
    "push.invalid": ("The push cannot be read; check the fields.", "无法读取推送内容,请检查各栏。"),
    "push.file.invalid": ("The order file cannot be read: use the template (CSV or Excel, order numbers in column A).",
                          "无法读取订单文件:请使用模板(CSV 或 Excel,订单号在 A 列)。"),
    "push.file.too_large": ("The file is larger than 5 MB.", "文件超过 5 MB。"),
    "push.non.cancel": ("Only a scheduled push can be cancelled.", "只能取消待发送的推送。"),
    "push.cancel.too_late": ("A push can be cancelled until 24 hours before it is sent.", "推送须在发送前 24 小时之前取消。"),
    "push.non.exist": ("No such push.", "没有该推送。"),
    "staff.name.invalid": ("The name must be 1 to 40 characters.", "姓名须为 1–40 个字符。"),
    "staff.role.invalid": ("The role is cashier or manager.", "角色须为收银员或店长。"),
    "verifier.store_unknown": ("No such store.", "没有该门店。"),
    "verifier.no_store": ("Choose all stores or at least one store.", "请选择全部门店或至少一个门店。"),
    "binding.plan.invalid": ("A plan id is letters, digits, '.', '-' or '_'.", "计划编号由字母、数字、'.'、'-' 或 '_' 组成。"),
    "binding.coupon.not_shared": ("This campaign is not shared with affiliates, so no channel may carry it.",
                                  "此活动未分享给联盟推广,不能绑定到推广计划。"),
    "binding.coupon.ended": ("This campaign has ended.", "此活动已结束。"),
    "binding.sku.invalid": ("The coupon does not apply to these SKUs, or none was named.", "优惠券不适用于这些 SKU,或未填写 SKU。"),
    "vouchers.refused": ("These vouchers cannot be issued.", "无法发放这些券。"),
    "voucher.claim.closed": ("The vouchers of this campaign cannot be claimed now.", "该活动的券当前不在领取时间内。"),
    "voucher.claim.limit": ("This customer has claimed as many vouchers of this campaign as allowed.", "该顾客已达该活动的领取上限。"),
    "voucher.member.invalid": ("This campaign is for members of a higher level: name a customer who is one.",
                               "该活动限较高等级会员:请填写符合等级的顾客。"),
    "voucher.affiliate.invalid": ("This campaign is not shared with affiliates.", "此活动未分享给联盟推广。"),
    "amount.invalid": ("Not an amount; write it like 128.50.", "金额格式不正确,请按 128.50 的格式输入。"),
    "amount.negative": ("An amount is zero or more.", "金额须为 0 或以上。"),
    "amount.precision": ("Money is counted to the fen: at most two decimals.", "金额精确到分:最多两位小数。"),
    "amount.too_large": ("The amount is too large.", "金额过大。"),
    "request.invalid": ("A value in this form is not accepted; check the fields.", "表单中有一项内容不符合要求,请检查各栏。"),
    "form.required": ("This field is required.", "此栏必填。"),
    # back office: lookup, staff, reports, conflicts
    "voucher.code.invalid": ("This is not a voucher code.", "这不是券码。"),
    "voucher.non.exist": ("No voucher with this code was ever issued.", "从未发放过此券码的券。"),
    "voucher.revoke.reason": ("Say why the voucher is revoked, in 1 to 200 characters.", "请填写作废原因(1–200 字)。"),
    "voucher.revoke.already": ("This voucher was already revoked.", "此券已作废。"),
    "voucher.print.revoked": ("A revoked voucher is not printed again.", "已作废的券不能重新打印。"),
    "voucher.print.redeemed": ("This voucher is redeemed: a printed copy could not be used.", "此券已核销:重新打印也无法使用。"),
    "staff.pin.required": ("A new manager needs a new PIN of 6 to 8 digits.", "设为店长须同时设置 6–8 位新密码。"),
    "staff.self": ("You cannot do this to yourself: ask another manager.", "不能对自己执行此操作:请另一位店长操作。"),
    "staff.last_manager": ("This is the only active manager: make someone else a manager first.",
                           "这是唯一在职的店长:请先将另一名员工设为店长。"),
    "conflict.note.invalid": ("A note is at most 200 characters.", "说明不超过 200 字。"),
    "conflict.non.exist": ("No such conflict.", "没有该冲突。"),
    "conflict.settled": ("This conflict was already settled.", "该冲突已处理。"),
}

STATUS = {  # campaign statuses, as JD names them
    "rejected": ("rejected", "已驳回"), "not_reviewed": ("not reviewed", "未审核"),
    "manual_review": ("in review", "人工审核"), "approved": ("approved", "审核通过"), "active": ("active", "已生效"),
    "paused": ("paused", "已暂停"), "force_paused": ("force-paused", "强制暂停"), "ended": ("ended", "已结束"),
    "deleted": ("deleted", "已删除"),
}
KINDS = {"single_item": ("single item", "单品促销"), "gift": ("gift", "赠品促销"), "bundle": ("bundle", "套装促销"),
         "order_total": ("order total", "总价促销")}


def set_language(language: str) -> None:
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    _language = language


def language() -> str:
    return _language


def language_from_env(configured: str | None = None) -> str:
    """Configuration first, then the POSIX locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``): zh_* → Chinese."""
    if configured:
        return configured
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _(message: str, /, **values: object) -> str:
    """``message`` in the current language, with ``{name}`` fields filled in."""
    if _language == "zh":
        message = ZH.get(message, message)
    return message.format(**values) if values else message


def code_text(code: str, fallback: str = "") -> str:
    """The sentence for a stable code, or ``fallback`` (the sender's own message) when there is none."""
    pair = CODES.get(code)
    if pair is None:
        return fallback or code
    return pair[1] if _language == "zh" else pair[0]


def sentence(code: str, message: str) -> str:
    """A refusal in the reader's language: the sender's own sentence in English (it has the details),
    the catalogued one for its code in Chinese."""
    return message if _language == "en" and message else code_text(code, message)


# A refusal's own sentence in Chinese, with its facts (``Verdict.params``); keyed by the detail code where
# one reason has several sentences, else by the reason.
ZH_VERDICTS: dict[str, str] = {
    "staff_not_verifier": "员工 {staff} 无权在本店核销。",
    "unknown_code": "本店不认识券码 {code}。",
    "campaign_inactive/has_not_started": "活动“{campaign}”尚未开始。",
    "campaign_inactive/has_ended": "活动“{campaign}”已结束。",
    "campaign_inactive/is_not_running": "活动“{campaign}”未在进行中。",
    "store_not_allowed": "“{campaign}”的券不能在本店使用。",
    "not_yet_valid": "该券自 {starts} 起可用。",
    "expired": "该券已于 {ends} 过期。",
    "already_redeemed": "该券已于 {at} 在门店 {store} 核销。",
    "limit_reached/ever": "该顾客已用过一张“{campaign}”的券。",
    "limit_reached/today": "该顾客今天已用过一张“{campaign}”的券。",
    "rules.min_spend": "订单金额须满 {min_spend};当前为 {amount}。",
    "rules.amount_required": "请输入订单金额:该券的优惠取决于金额。",
    "rules.items_required": "请列出所购商品:该促销取决于具体商品。",
    "rules.amount_negative": "订单金额不能为负。",
    "offline_not_allowed": "“{campaign}”的券需联网核销。",
    "offline.max_discount": "离线时最多优惠 {max};本次为 {off}。",
}


# English sentences said again where they hold a time: the service words it in UTC, the cashier reads the
# till's own clock
EN_VERDICTS: dict[str, str] = {
    "not_yet_valid": "This voucher is valid from {starts}.",
    "expired": "This voucher expired on {ends}.",
    "already_redeemed": "Already redeemed on {at} in store {store}.",
}


def verdict_sentence(verdict: Verdict) -> str:
    """The verdict's sentence in the reader's language, times on the till's clock: in English the
    service's own (said again where it holds a time); in Chinese the same facts (a date, the minimum
    spend, the campaign) in a Chinese sentence, else the reason's short text."""
    params = dict(verdict.params)
    templates = ZH_VERDICTS if _language == "zh" else EN_VERDICTS
    if _language == "en" and str(verdict.reason) not in EN_VERDICTS:
        return verdict.message or code_text(str(verdict.reason))
    reason = str(verdict.reason)
    for key in ("starts", "ends"):
        if key in params:
            params[key] = day(parse_time(params[key]))
    if verdict.first_redemption is not None:
        params.update(at=day(verdict.first_redemption.at), store=verdict.first_redemption.store_id)
    keys = [f"{reason}/{params.get('when', params.get('span', ''))}", verdict.detail or "", reason]
    for key in keys:
        template = templates.get(key)
        if template:
            try:
                return template.format(**params)
            except KeyError:  # a verdict from an older service, without the facts
                break
    return verdict.message if _language == "en" and verdict.message else code_text(reason, verdict.message)


def status_text(status: str) -> str:
    pair = STATUS.get(status, (status, status))
    return pair[1] if _language == "zh" else pair[0]


def kind_text(kind: str) -> str:
    pair = KINDS.get(kind, (kind, kind))
    return pair[1] if _language == "zh" else pair[0]


_zone: tzinfo | None = None  # the store's; None until the catalog names it: the machine's own zone


def set_zone(name: str | None) -> None:
    """Show every time in this store's zone (an IANA name), whatever the machine's clock is set to."""
    global _zone
    _zone = zone(name) if name else None


def zone_name() -> str | None:
    return getattr(_zone, "key", None)


def here(moment: datetime) -> datetime:
    """A moment on the store's clock."""
    return moment.astimezone(_zone) if _zone is not None else moment.astimezone()


def clock(moment: datetime) -> str:
    """A time of day at the counter, on the store's clock."""
    return here(moment).strftime("%H:%M:%S")


def day(moment: datetime) -> str:
    """A day and time on the store's clock."""
    return here(moment).strftime("%Y-%m-%d %H:%M")


def date_text(iso_day: str) -> str:
    """A calendar day from a report (already in the shop's time zone)."""
    return iso_day
