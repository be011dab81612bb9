lang-name = English
lang-switch-label = Nederlands
skip-to-content = Skip to content
demo-banner = Demo: text messages arrive on the demo phone.
demo-phone-link = Open the demo phone

sign-in-title = Sign in
sign-in-intro = Sign in with your { $org } account.
username = Username
password = Password
show-password = Show password
sign-in-button = Sign in
signed-out = You are signed out.
error-bad-credentials = Your username or password is wrong. Check them and try again.
error-throttled = Too many attempts. Try again in { $minutes ->
    [one] 1 minute
   *[other] { $minutes } minutes
}.
error-username-empty = Enter your username.
error-password-empty = Enter your password.

register-title = Secure your account
register-intro = { $org } wants to be sure it's you when you sign in. Add your mobile number: you'll get a code by text message when you sign in.
country = Country or region
country-unavailable = not available
phone-number = Mobile number
phone-hint = For example 06 12345678
register-button = Send me a code
use-other-account = Use another account
sms-risk-note = Text messages are handy, but not the safest way. You can switch to an app later.
error-phone-empty = Enter your mobile number.
error-phone-not-a-number = This is not a phone number. Use digits, for example 06 12345678.
error-phone-too-short = This number is too short. A Dutch mobile number has 10 digits, like 06 12345678.
error-phone-too-long = This number is too long. A Dutch mobile number has 10 digits, like 06 12345678.
error-phone-invalid = This number does not exist. Check the number and the country you chose.
error-phone-not-mobile = This is not a mobile number. Enter a number that can receive text messages.
error-phone-country = We can't use numbers from { $country }. Choose a number from another country.

code-title = Enter your code
code-intro = We sent a text message to { $phone }. Enter the 6-digit code.
code-not-sent = No code has been sent to { $phone } yet.
code-label = Code
verify-button = Verify
resend-button = Send a new code
send-button = Send a code
code-resent = We sent a new code. The previous code no longer works.
cancel = Cancel
other-number = Use another number
sign-in-other-way = Trouble? Sign in another way
error-code-empty = Enter the code.
error-code-format = A code is 6 digits.
error-code-wrong = This code is wrong. You have { $left ->
    [one] 1 try
   *[other] { $left } tries
} left.
error-code-wrong-last = This code is wrong. Ask for a new code.
error-code-expired = This code has expired. Ask for a new code.
error-code-used = This code no longer works: it was used already or a newer one was sent. Use the newest code.
error-code-exhausted = Too many wrong codes. Ask for a new code.
error-no-code = No code has been sent yet. Ask for a code.
error-account-locked = Too many wrong codes. Try again in { $minutes ->
    [one] 1 minute
   *[other] { $minutes } minutes
}.
error-cooldown = Wait { $seconds ->
    [one] 1 second
   *[other] { $seconds } seconds
} before asking for a new code.
error-account-budget = You asked for too many codes in the last hour. Try again later or sign in another way.
error-number-budget = Too many codes were sent to this number in the last hour. Try again later.
error-gateway-down = We can't send text messages right now. Try again shortly, or sign in another way.
error-sms-busy = Too many codes are being requested right now. Try again later or sign in another way.
error-number-not-allowed = We no longer send codes to this number. Sign in another way or contact the helpdesk.
error-sms-blocked = We are not sending codes for this account for now, because someone reported a code they had not asked for. Contact the helpdesk.
code-sending = We're sending a text message to { $phone }. This usually takes a few seconds.
code-sending-refresh = Nothing yet? Refresh this page.

done-title = All set!
done-text = Your phone has been added. From now on we'll ask for a code by text message when you sign in.
continue = Continue
continuing = You'll continue automatically.

other-way-title = Sign in another way
other-way-intro = Choose how you want to sign in.
method-sms = Text message to { $phone }
other-way-none = Can't use any of these? Contact the { $org } helpdesk.
more-info = More information

home-title = You're signed in
home-hello = Hello { $name }!
home-username = Username
home-methods = Your sign-in methods
home-no-methods = You haven't set up a second step yet.
method-added = added on { $date }
sign-out = Sign out

demo-phone-title = Demo phone
demo-phone-intro = Demo only: the text messages tweestap sends, newest first.
demo-phone-empty = No messages yet.
refresh = Refresh

error-title = Something went wrong
error-csrf = This page has expired, or the form came from another website. Reload the page and try again.
error-form-expired = This page had expired. Enter your details again and try once more.
error-internal = Something went wrong on our side. Try again later. Mention this code if you call the helpdesk: { $id }
error-not-found = This page does not exist.
back-to-start = Back to sign in

report-title = Didn't ask for this code?
report-intro = Someone tried to sign in to a { $org } account using your phone number ({ $phone }). If that wasn't you, report it: we'll stop sending codes for this account for now, and the helpdesk will see your report.
report-button = I didn't ask for this
report-done-title = Thank you for reporting
report-done = We won't send codes for this account until { $until }. The { $org } helpdesk will look into it. Did you give your password to someone? Then change it.
report-invalid = This link doesn't work (any more): it was used already or is too old. Getting codes you didn't ask for? Contact the { $org } helpdesk.

sms-code = { $code } is your { $org } code. Don't share it.
sms-report = Didn't ask? { $link }

consent-title = Allow { $app }?
consent-intro = { $app } wants to sign you in with your account, { $name }. It will get:
consent-only-identity = Only a code that tells it who you are (not your name or email address).
consent-signed-in-as = Signed in as { $username }.
consent-allow = Allow
consent-deny = Don't allow
scope-profile = Your name and username
scope-email = Your email address
scope-phone = Your mobile number
scope-offline-access = Stay connected while you're away (keep access until you sign out)

logout-title = Sign out?
logout-question = Do you want to sign out?
logout-asked-by = { $app } asks you to sign out. Do you want to?
logout-stay = No, stay signed in

oidc-error-missing-client = The application that sent you here didn't say who it is (client_id is missing). Go back and try again, or tell the application's administrator.
oidc-error-unknown-client = The application that sent you here isn't known to us. Tell the application's administrator.
oidc-error-missing-redirect-uri = The application that sent you here didn't say where to return to (redirect_uri is missing). Tell the application's administrator.
oidc-error-redirect-uri = The application that sent you here wants to return to an address that isn't registered for it. For your safety we won't send you there. Tell the application's administrator.
oidc-error-malformed = The application that sent you here sent a request we can't read (a parameter appears twice). Go back and try again.
reauth-title = Sign in again
reauth-intro = { $app } asks you to sign in again before you continue.
oidc-error-too-long = The application that sent you here sent a request that is too long. Tell the application's administrator.
oidc-error-logout-hint = The sign-out request isn't valid: its proof of who is signing out doesn't match. Go back and try again.
oidc-error-logout-uri = The application wants to send you to an address after signing out that isn't registered for it. You can close this page.
forward-auth-error-return-url = The page you were on isn't one we can return you to after signing in. Go back to that page and try again.

method-app = Authenticator app ({ $app })
method-last-used = last used { $date }
app-code-title = Enter the code from your app
app-code-intro = Open your authenticator app and type the 6-digit code it shows for this account.
app-code-intro-named = Open your authenticator app ({ $app }) and type the 6-digit code it shows for this account.
error-app-code-wrong = This code is not right. Type the code your app shows now (it changes every 30 seconds), and check that your phone's clock is right.
error-label-control = A name cannot hold line breaks, tabs or other control characters. Use letters, digits, spaces and punctuation.
error-last-method = This is your only way to sign in with a second step, so it cannot be removed. Add another one first.
security-title = Security info
security-methods = Your sign-in methods
security-remove = Remove
security-add-app = Use an authenticator app
security-add-app-intro = An app on your phone (such as Microsoft Authenticator, Google Authenticator, Aegis or FreeOTP) gives you a new code every 30 seconds, even without signal.
security-app-name = Name for this app (optional)
security-app-default-name = Authenticator app
security-add-app-button = Set up an app
security-verify-intro = To add or remove a sign-in method, first confirm it's you.
security-verify-button = Confirm it's you
security-not-fresh = For your safety, confirm it's you first: sign in again, then make the change.
security-app-added = Your authenticator app is set up. We sent a text message to your phone about this change.
security-method-removed = The sign-in method is removed. We sent a text message to your phone about this change.
security-recent = Recent sign-ins
security-event-signed-in = signed in
security-event-wrong-password = wrong password
security-event-wrong-code = wrong code
security-back-home = Back
app-setup-title = Set up your authenticator app
app-setup-step-install = Install an authenticator app on your phone, if you don't have one yet.
app-setup-step-scan = In the app, add an account and scan this QR code.
app-setup-qr-alt = QR code for your authenticator app
app-setup-on-phone = Using this phone?
app-setup-open-link = Open in your authenticator app
app-setup-manual = Can't scan? Type this key in the app instead (time-based):
app-setup-secret-label = Key for typing
app-setup-code-label = Code from the app
sms-method-added = { $org }: a sign-in method was added to your account. Not you? Contact the helpdesk now.
sms-method-removed = { $org }: a sign-in method was removed from your account. Not you? Contact the helpdesk now.
register-use-app-instead = I'd rather use an authenticator app
register-use-phone-instead = Use a phone number instead
security-default = asked first
security-make-default = Ask for this one first
security-default-set = This method will be asked for first from now on.
remember-device = Don't ask again on this device for { $days } days
security-devices = Devices that don't ask for a second step
security-device-until = remembered until { $date }
security-forget = Forget
security-device-unknown = Unknown browser
security-device-forgotten = This device will ask for your second step again.
invite-title = Sign in faster with an app
invite-intro = Instead of waiting for a text message, use an authenticator app on your phone: it works without signal, and it's safer than SMS. Setting it up takes a minute.
invite-setup = Set up an app now
invite-later = Not now ({ $left } more times)
invite-required = You've postponed this before: set up an app now to continue.
security-add-phone = Add a phone
security-add-phone-button = Send a code to this number
security-phone-added = Your phone is added. We sent a text message about this change.
phone-add-title = Confirm your new number
phone-add-intro = We sent a code to { $phone }. Type it here to add this number.
error-phone-already-added = This number is already one of your sign-in methods.
access-pass-link = I have a temporary access pass from the helpdesk
access-pass-title = Temporary access pass
access-pass-intro = Type the pass the helpdesk gave you. Afterwards, set up a new way to sign in.
access-pass-label = Access pass
access-pass-button = Continue
error-access-pass = This pass is not right, has expired or was used already. Ask the helpdesk for a new one.
method-passkey = Passkey ({ $name })
method-push = tweestap app ({ $name })
error-webauthn-refused = That didn't work: your device didn't confirm it, or the request had expired. Try again.
error-webauthn-cancelled = Your device gave no confirmation (cancelled or not supported). Try again or choose another way.
webauthn-needs-js = This needs JavaScript to be turned on in your browser.
error-push-blocked = Signing in with the app is off for this account for now, because a request was reported as "This wasn't me". Choose another way or contact the helpdesk.
error-push-pending = A request is already waiting on your phone. Answer that one first, or wait until it expires.
error-push-cap = Too many requests were sent to your phone this hour. Choose another way to sign in.
error-push-paused = Requests to your phone were refused a few times; they are off for { $minutes } { $minutes ->
    [one] minute
   *[other] minutes
}. Choose another way to sign in.
error-bad-request = This request isn't right. Refresh the page and try again.
passkey-title = Sign in with your passkey
passkey-intro = Confirm with your device's fingerprint, face or PIN.
passkey-button = Use passkey
passkey-add-title = Add a passkey
passkey-add-intro = A passkey lives on your phone, laptop or security key. You confirm with your fingerprint, face or PIN. It is the safest way to sign in: a fake site cannot use it.
passkey-name = Name of this passkey
passkey-add-button = Create passkey
passkey-default-name = Passkey
security-add-passkey = Add a passkey
security-add-passkey-intro = Sign in with your fingerprint, face or PIN: no code, and safe from fake sites.
security-add-passkey-button = Add a passkey
security-passkey-added = Your passkey was added. We sent a text message about this change.
security-add-push = Link the tweestap app
security-add-push-intro = Approve sign-ins on your phone: pick the number on your screen and confirm with your fingerprint. No code to type.
security-add-push-button = Link a phone
security-push-added = Your phone is linked. From now on you can sign in by approving on your phone.
push-title = Approve on your phone
push-intro = Open the tweestap app on your phone and pick this number:
push-waiting = Waiting for your phone…
push-continue = Continue
push-retry = Send a new request
push-denied = You refused this request on your phone.
push-wrong-number = A different number was picked on your phone. Send a new request and pick the number on this screen.
push-reported = You reported that this wasn't you. Signing in with the app and by text message is now off for this account; the helpdesk has been told.
push-expired = This request has expired. Send a new request.
push-not-approved-yet = Your phone hasn't approved this yet. Pick the number in the tweestap app, then try again.
push-notification-body = Are you signing in? Open the app and pick the number on your screen.
app-link-title = Link your phone
app-link-step-scan = Scan this QR code with your phone's camera.
app-link-step-confirm = Confirm on your phone with your fingerprint, face or PIN.
app-link-step-number = Then pick the number that appears here on your phone.
app-link-qr-alt = QR code to link your phone
app-link-valid = This code works for { $minutes } minutes, once.
app-link-waiting = Waiting for your phone…
app-link-pick = Pick this number on your phone to finish linking:
app-link-failed = Linking didn't work. Start again from your security info.
app-link-refresh = Refresh
app-link-invalid = This link doesn't work (any more). Make a new QR code on your computer from your security info.
app-link-phone-title = Link this phone
app-link-phone-intro = This phone will be linked to the account of { $name }. You confirm with your fingerprint, face or PIN.
app-link-phone-name = Name of this phone
app-link-phone-button = Link
app-default-name = My phone
app-title = tweestap
app-not-linked = This phone isn't linked yet. On your computer, go to your security info, choose "Link a phone" and scan the QR code.
app-linked-as = Linked to { $name } ({ $device }).
app-no-requests = No requests are waiting. When you sign in, the request appears here.
app-refresh = Refresh
app-enable-notifications = Turn on notifications
app-request-title = Sign in to { $org }?
app-request-link = Finish linking
app-request-application = Application
app-request-application-none = Security portal
app-request-browser = Browser
app-request-place = Location
app-request-time = Time
app-request-pick = Pick the number shown on your screen, and confirm with your fingerprint.
app-request-deny = Deny
app-request-report = This wasn't me
app-result-approved = Approved. You can continue on your computer.
app-result-denied = Denied. Nobody is signed in.
app-result-reported = Reported. Signing in with the app and by text message is now off for your account; the helpdesk has been told. Change your password.
app-result-wrong_number = That wasn't the number on the screen. This request was refused.
app-result-expired = This request had already expired.
app-result-already_answered = This request was already answered.
security-rename = Rename
security-rename-label = New name
security-rename-button = Save
security-renamed = The name was changed.
app-link-other-account = This phone is already linked to another account. Remove it there first in the security info (or ask the helpdesk), then scan again.
app-number-missing = Pick or type the number shown on your computer's screen.
app-request-link-number = Type the number shown on your computer
app-request-link-confirm = Confirm
