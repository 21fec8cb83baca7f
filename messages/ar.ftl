# رسائل واجهة Passaggio، العربية. ملف واحد لكل لغة (صيغة Fluent:
# https://projectfluent.org/fluent/guide/). المعرّفات تبدأ باسم الصفحة (worker-, driver-,
# console-) أو common-. المعرّف الغائب يُعرض بالإيطالية.
# Arabic: right to left (language-dir). Plurals use the six Arabic forms.

common-app-name = Passaggio
common-language = اللغة
common-choose-language = اختر
# Days of the week, ISO numbering (1 = Monday); the pages show them before the date.
common-weekday = { $day ->
     [1] الاثنين
     [2] الثلاثاء
     [3] الأربعاء
     [4] الخميس
     [5] الجمعة
     [6] السبت
    *[7] الأحد
}
common-today = اليوم
common-tomorrow = غدًا
language-name = العربية
language-dir = rtl

## صفحات الأشخاص (/w/): يحجزون رحلاتهم ويرونها ويلغونها
worker-title = Passaggio: رحلاتك
worker-sign-in-title = الدخول
worker-sign-in-help = امسح رمز QR الموجود على بطاقتك، أو اكتب الرمز المطبوع تحته.
worker-code = رمز البطاقة
worker-pin = الرقم السري (فقط إذا اخترته)
worker-sign-in = دخول
worker-sign-in-failed = هذا الرمز لا يعمل. تحقّق منه، أو اطلب بطاقة جديدة من مركزك (Polo).
worker-too-many = محاولات كثيرة جدًا. انتظر بضع دقائق ثم حاول مرة أخرى.
worker-hello = مرحبًا { $name }
worker-home-book = احجز رحلة
worker-home-rides = رحلاتي
worker-home-lines = خطوط العمل
worker-home-report = أبلغ عن مشكلة
worker-sign-out = خروج
worker-signed-out = لقد خرجت. لا يبقى شيء من بياناتك على هذا الهاتف.
worker-free = هذه الرحلة مجانية. لا تدفع لأحد أبدًا مقابلها.
worker-polo-phone = مركزك (Polo): { $phone }
worker-book-title = احجز رحلة
worker-from = خذني من
worker-to = إلى أين
worker-dest-work = إلى العمل
worker-dest-polo = إلى المركز (Polo)
worker-dest-office = إلى مكتب حكومي
worker-dest-appointment = إلى موعد
worker-place = المكان
worker-choose = اختر…
worker-day = اليوم
worker-when = متى
worker-arrive-by = الوصول قبل
worker-leave-at = الانطلاق في
worker-time = الساعة
worker-passengers = عدد المسافرين (وأنت منهم)
worker-wheelchair = أتنقّل على كرسي متحرك
worker-return = والعودة أيضًا، انطلاقًا في
worker-book-submit = احجز
worker-result-confirmed = تم الحجز. نأخذك في الساعة { $time }.
worker-result-booked = تم الحجز ليوم { $date }. تُحدَّد ساعة الانطلاق عند تنظيم ذلك اليوم: انظر «رحلاتي».
worker-result-queued = تم الحجز. سيعطيك مركزك الساعة قريبًا: انظر «رحلاتي».
worker-result-refused = لا توجد مركبة تستطيع القيام بهذه الرحلة.
worker-alternatives = بدلًا من ذلك يمكنك:
worker-alt-line = ركوب خط العمل { $line } في الساعة { $time }، على بعد { $distance } م من نقطة اللقاء
worker-alt-time = الحجز في الساعة { $time }
worker-meeting-point = نقطة اللقاء
worker-rides-title = رحلاتي
worker-rides-count = { $count ->
    [zero] لا توجد رحلات محجوزة
    [one] رحلة واحدة محجوزة
    [two] رحلتان محجوزتان
    [few] { $count } رحلات محجوزة
    [many] { $count } رحلة محجوزة
   *[other] { $count } رحلة محجوزة
}
worker-no-rides = لا توجد رحلات محجوزة.
worker-pickup-at = نأخذك في الساعة { $time }
worker-expected-at = الموعد المتوقع الآن: { $time }
worker-pickup-pending = لم تُحدَّد الساعة بعد
worker-to-place = إلى { $place }
worker-status-requested = محجوزة
worker-status-planned = مبرمجة
worker-status-confirmed = مؤكدة
worker-status-cancelled = ملغاة
worker-status-refused = مرفوضة
worker-status-completed = تمّت
worker-status-no_show = فاتتك
worker-cancel = ألغِ هذه الرحلة
worker-cancelled = تم إلغاء الرحلة.
worker-ride-title = رحلتك
worker-back = رجوع
worker-home = الرئيسية
worker-lines-title = خطوط العمل
worker-lines-help = يمرّ خط العمل في أيام العمل خلال الموسم، في مواعيد ثابتة. تسجّل مرة واحدة.
worker-line-board = اركب من { $stop } في الساعة { $time }
worker-line-to = حتى { $stop }
worker-subscribe-season = الموسم كله (حتى { $date })
worker-subscribe-days = فقط من … إلى …
worker-from-day = من
worker-to-day = إلى
worker-subscribe = سجّلني
worker-my-subscriptions = اشتراكاتي
worker-no-subscriptions = لا توجد اشتراكات.
worker-subscribed = أنت مسجّل.
worker-end-subscription = أنهِ هذا الاشتراك
worker-subscription-ended = انتهى الاشتراك.
worker-subscription-until = حتى { $date }
worker-report-title = أبلغ عن مشكلة
worker-report-help = أخبر مركزك بسرية. لا يقرأ البلاغ إلا منسّق المركز.
worker-report-money = طلب مني أحدهم مالًا
worker-report-documents = طلب مني أحدهم وثائقي
worker-report-threat = تعرّضت للتهديد
worker-report-other = شيء آخر
worker-report-details = ماذا حدث (يمكنك تركه فارغًا)
worker-report-anonymous = أرسل دون اسمي
worker-report-send = أرسل
worker-report-sent = تم الإرسال. لقد استلمه مركزك.
worker-error = تحقّق من: { $field }
worker-error-duplicate = لديك رحلة في هذا الوقت بالفعل.
worker-error-full = هذا الخط ممتلئ في بعض هذه الأيام.
worker-error-already = أنت مسجّل في هذا الخط بالفعل.
worker-not-found = غير موجود.
worker-card-title = بطاقة Passaggio
worker-card-for = لـ { $name }
worker-card-scan = امسح الرمز بكاميرا الهاتف للدخول
worker-card-code = أو اكتب هذا الرمز
worker-card-pin = سيُطلب منك أيضًا رقمك السري.
worker-card-keep = احتفظ بهذه البطاقة لنفسك. إذا ضاعت أو أُخذت منك، يعطيك مركزك بطاقة جديدة وتتوقف هذه عن العمل.
worker-today = اليوم
worker-tomorrow = غدًا
