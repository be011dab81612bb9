# Dutch is the default language. Address people with "je", keep it short and friendly.
lang-name = Nederlands
lang-switch-label = English
skip-to-content = Naar de inhoud
demo-banner = Demo: de sms'jes staan op de demotelefoon.
demo-phone-link = Open de demotelefoon

sign-in-title = Inloggen
sign-in-intro = Log in met je account van { $org }.
username = Gebruikersnaam
password = Wachtwoord
show-password = Wachtwoord tonen
sign-in-button = Inloggen
signed-out = Je bent uitgelogd.
error-bad-credentials = Je gebruikersnaam of wachtwoord klopt niet. Controleer ze en probeer het opnieuw.
error-throttled = Te veel pogingen. Probeer het over { $minutes ->
    [one] 1 minuut
   *[other] { $minutes } minuten
} opnieuw.
error-username-empty = Vul je gebruikersnaam in.
error-password-empty = Vul je wachtwoord in.
error-username-too-long = Die gebruikersnaam is veel te lang om van iemand te zijn. Controleer wat je hebt getypt en probeer het opnieuw.
error-password-too-long = Dat wachtwoord is langer dan 1024 tekens. Controleer wat je hebt getypt en probeer het opnieuw.

register-title = Beveilig je account
register-intro = { $org } wil zeker weten dat jij het bent als je inlogt. Voeg je mobiele nummer toe: je krijgt dan bij het inloggen een code per sms.
country = Land of regio
country-unavailable = niet beschikbaar
phone-number = Mobiel nummer
phone-hint = Bijvoorbeeld 06 12345678
register-button = Stuur mij een code
use-other-account = Ander account gebruiken
sms-risk-note = Sms is handig, maar niet de veiligste manier. Later kun je overstappen op een app.
error-phone-empty = Vul je mobiele nummer in.
error-phone-not-a-number = Dit is geen telefoonnummer. Gebruik cijfers, bijvoorbeeld 06 12345678.
error-phone-too-short = Dit nummer is te kort. Een mobiel nummer in Nederland heeft 10 cijfers, zoals 06 12345678.
error-phone-too-long = Dit nummer is te lang. Een mobiel nummer in Nederland heeft 10 cijfers, zoals 06 12345678.
error-phone-invalid = Dit nummer bestaat niet. Controleer het nummer en het gekozen land.
error-phone-not-mobile = Dit is geen mobiel nummer. Vul een nummer in dat sms'jes kan ontvangen.
error-phone-country = Nummers uit { $country } kunnen we niet gebruiken. Kies een nummer uit een ander land.

code-title = Vul je code in
code-intro = We hebben een sms gestuurd naar { $phone }. Vul de code van 6 cijfers in.
code-not-sent = Er is nog geen code gestuurd naar { $phone }.
code-label = Code
verify-button = Controleren
resend-button = Stuur een nieuwe code
send-button = Stuur een code
code-resent = We hebben een nieuwe code gestuurd. De vorige code werkt niet meer.
cancel = Annuleren
other-number = Ander nummer gebruiken
sign-in-other-way = Lukt het niet? Log op een andere manier in
error-code-empty = Vul de code in.
error-code-format = Een code bestaat uit 6 cijfers.
error-code-wrong = Deze code klopt niet. Je kunt het nog { $left ->
    [one] 1 keer
   *[other] { $left } keer
} proberen.
error-code-wrong-last = Deze code klopt niet. Vraag een nieuwe code aan.
error-code-expired = Deze code is verlopen. Vraag een nieuwe code aan.
error-code-used = Deze code werkt niet meer: hij is al gebruikt of er is een nieuwere gestuurd. Gebruik de nieuwste code.
error-code-exhausted = Te vaak een verkeerde code. Vraag een nieuwe code aan.
error-no-code = Er is nog geen code gestuurd. Vraag een code aan.
error-account-locked = Te veel verkeerde codes. Probeer het over { $minutes ->
    [one] 1 minuut
   *[other] { $minutes } minuten
} opnieuw.
error-cooldown = Wacht nog { $seconds ->
    [one] 1 seconde
   *[other] { $seconds } seconden
} voordat je een nieuwe code vraagt.
error-account-budget = Je hebt het afgelopen uur te veel codes gevraagd. Probeer het later opnieuw of log op een andere manier in.
error-number-budget = Naar dit nummer zijn het afgelopen uur te veel codes gestuurd. Probeer het later opnieuw.
error-gateway-down = We kunnen nu geen sms versturen. Probeer het zo opnieuw, of log op een andere manier in.
error-sms-busy = Er worden nu te veel codes gevraagd. Probeer het later opnieuw of log op een andere manier in.
error-number-not-allowed = Naar dit nummer sturen we geen codes meer. Log op een andere manier in of neem contact op met de helpdesk.
error-sms-blocked = Voor dit account sturen we tijdelijk geen codes, omdat gemeld is dat er een code werd gevraagd die niet door de eigenaar was aangevraagd. Neem contact op met de helpdesk.
code-sending = We versturen een sms naar { $phone }. Dat duurt meestal een paar seconden.
code-sending-refresh = Nog niets ontvangen? Vernieuw deze pagina.

welcome-notice = Klaar! Je tweede stap is ingesteld: voortaan vragen we daarom als je inlogt.
continue = Doorgaan
continuing = Je gaat zo vanzelf verder.

other-way-title = Op een andere manier inloggen
other-way-intro = Kies hoe je wilt inloggen.
method-sms = Sms naar { $phone }
other-way-none = Kun je geen van deze gebruiken? Neem contact op met de helpdesk van { $org }.
more-info = Meer informatie

home-title = Je bent ingelogd
home-hello = Hallo { $name }!
home-username = Gebruikersnaam
home-methods = Je inlogmethodes
home-no-methods = Je hebt nog geen tweede stap ingesteld.
method-added = toegevoegd op { $date }
sign-out = Uitloggen

demo-phone-title = Demotelefoon
demo-phone-intro = Alleen in de demo: hier zie je de sms'jes die tweestap verstuurt, de nieuwste bovenaan.
demo-phone-empty = Nog geen berichten.
refresh = Vernieuwen

error-title = Er ging iets mis
error-csrf = Deze pagina is verlopen, of het formulier kwam van een andere website. Laad de pagina opnieuw en probeer het nog eens.
error-form-expired = Deze pagina was verlopen. Vul je gegevens opnieuw in en probeer het nog eens.
error-internal = Er ging iets mis aan onze kant. Probeer het later opnieuw. Noem deze code als je de helpdesk belt: { $id }
error-not-found = Deze pagina bestaat niet.
error-too-large = Wat er is verstuurd is veel groter dan dit formulier kan bevatten, dus er is niets mee gedaan. Ga terug, controleer wat je hebt ingevuld en verstuur het opnieuw.
error-bad-form = Dit formulier kon niet worden gelezen, dus er is niets mee gedaan. Ga terug, laad de pagina opnieuw en probeer het nog eens.
back-to-start = Terug naar inloggen

report-title = Heb je niet om deze code gevraagd?
report-intro = Iemand probeerde in te loggen op een account van { $org } met jouw telefoonnummer ({ $phone }). Als jij dat niet was, meld het: dan sturen we voorlopig geen codes meer voor dit account en ziet de helpdesk je melding.
report-button = Ik heb hier niet om gevraagd
report-done-title = Bedankt voor je melding
report-done = We sturen tot { $until } geen codes meer voor dit account. De helpdesk van { $org } kijkt ernaar. Heb je je wachtwoord aan iemand gegeven? Verander het dan.
report-invalid = Deze link werkt niet (meer). Hij is al gebruikt of te oud. Krijg je codes waar je niet om vroeg? Neem contact op met de helpdesk van { $org }.

sms-code = { $code } is je code voor { $org }. Deel hem met niemand.
sms-report = Niet aangevraagd? { $link }

consent-title = { $app } toestaan?
consent-intro = { $app } wil je laten inloggen met je account, { $name }. De app krijgt:
consent-only-identity = Alleen een code waaraan de app je herkent (niet je naam of e-mailadres).
consent-signed-in-as = Ingelogd als { $username }.
consent-allow = Toestaan
consent-deny = Niet toestaan
scope-profile = Je naam en gebruikersnaam
scope-email = Je e-mailadres
scope-phone = Je mobiele nummer
scope-offline-access = Verbonden blijven als je er niet bent (toegang tot je uitlogt)

logout-title = Uitloggen?
logout-question = Wil je uitloggen?
logout-asked-by = { $app } vraagt je om uit te loggen. Wil je dat?
logout-stay = Nee, ingelogd blijven

oidc-error-missing-client = De app die je hierheen stuurde, zegt niet wie hij is (client_id ontbreekt). Ga terug en probeer het opnieuw, of meld het bij de beheerder van die app.
oidc-error-unknown-client = De app die je hierheen stuurde, kennen we niet. Meld het bij de beheerder van die app.
oidc-error-missing-redirect-uri = De app die je hierheen stuurde, zegt niet waar je naar terug moet (redirect_uri ontbreekt). Meld het bij de beheerder van die app.
oidc-error-redirect-uri = De app die je hierheen stuurde, wil je terugsturen naar een adres dat niet voor die app is geregistreerd. Voor je veiligheid sturen we je daar niet heen. Meld het bij de beheerder van die app.
oidc-error-malformed = De app die je hierheen stuurde, stuurde een verzoek dat we niet kunnen lezen (een gegeven staat er twee keer in). Ga terug en probeer het opnieuw.
reauth-title = Opnieuw inloggen
reauth-intro = { $app } vraagt je om opnieuw in te loggen voordat je verdergaat.
oidc-error-too-long = De app die je hierheen stuurde, stuurde een verzoek dat te lang is. Meld het bij de beheerder van die app.
oidc-error-logout-hint = Dit uitlogverzoek klopt niet: het bewijs van wie er uitlogt, past niet. Ga terug en probeer het opnieuw.
oidc-error-logout-uri = De app wil je na het uitloggen naar een adres sturen dat niet voor die app is geregistreerd. Je kunt deze pagina sluiten.
forward-auth-error-return-url = Naar de pagina waar je was, kunnen we je na het inloggen niet terugsturen. Ga terug naar die pagina en probeer het opnieuw.

method-app = Authenticator-app ({ $app })
method-last-used = laatst gebruikt { $date }
app-code-title = Vul de code uit je app in
app-code-intro = Open je authenticator-app en typ de code van 6 cijfers die de app voor dit account laat zien.
app-code-intro-named = Open je authenticator-app ({ $app }) en typ de code van 6 cijfers die de app voor dit account laat zien.
error-app-code-wrong = Deze code klopt niet. Typ de code die je app nu laat zien (die verandert elke 30 seconden) en kijk of de klok van je telefoon goed staat.
error-label-control = Een naam mag geen regeleinden, tabs of andere stuurtekens bevatten. Gebruik letters, cijfers, spaties en leestekens.
error-last-method = Dit is je enige manier om met een tweede stap in te loggen, dus die kun je niet verwijderen. Voeg eerst een andere toe.
security-title = Beveiligingsgegevens
security-methods = Je inlogmethoden
security-remove = Verwijderen
security-add-app = Een authenticator-app gebruiken
security-add-app-intro = Een app op je telefoon (zoals Microsoft Authenticator, Google Authenticator, Aegis of FreeOTP) geeft je elke 30 seconden een nieuwe code, ook zonder bereik.
security-app-name = Naam voor deze app (mag leeg)
security-app-default-name = Authenticator-app
security-add-app-button = App instellen
security-verify-intro = Om een inlogmethode toe te voegen of te verwijderen, bevestig je eerst dat jij het bent.
security-verify-button = Bevestig dat jij het bent
security-not-fresh = Voor je veiligheid: bevestig eerst dat jij het bent door opnieuw in te loggen, en doe dan de wijziging.
security-app-added = Je authenticator-app is ingesteld. We hebben je telefoon een sms gestuurd over deze wijziging.
security-method-removed = De inlogmethode is verwijderd. We hebben je telefoon een sms gestuurd over deze wijziging.
security-recent = Recente inlogpogingen
security-event-signed-in = ingelogd
security-event-wrong-password = verkeerd wachtwoord
security-event-wrong-code = verkeerde code
security-back-home = Terug
app-setup-title = Je authenticator-app instellen
app-setup-step-install = Installeer een authenticator-app op je telefoon, als je die nog niet hebt.
app-setup-step-scan = Voeg in de app een account toe en scan deze QR-code.
app-setup-qr-alt = QR-code voor je authenticator-app
app-setup-on-phone = Op deze telefoon?
app-setup-open-link = Open in je authenticator-app
app-setup-manual = Lukt scannen niet? Typ dan deze sleutel in de app (op tijd gebaseerd):
app-setup-secret-label = Sleutel om te typen
app-setup-code-label = Code uit de app
sms-method-added = { $org }: er is een inlogmethode aan je account toegevoegd. Was jij dit niet? Neem nu contact op met de helpdesk.
sms-method-removed = { $org }: er is een inlogmethode van je account verwijderd. Was jij dit niet? Neem nu contact op met de helpdesk.
register-use-app-instead = Ik gebruik liever een authenticator-app
register-use-phone-instead = Toch een telefoonnummer gebruiken
security-default = wordt eerst gevraagd
security-make-default = Deze eerst vragen
security-default-set = Deze methode wordt voortaan eerst gevraagd.
remember-device = Niet meer vragen op dit apparaat gedurende { $days } dagen
security-devices = Apparaten die niet om een tweede stap vragen
security-device-until = onthouden tot { $date }
security-forget = Vergeten
security-device-unknown = Onbekende browser
security-device-forgotten = Dit apparaat vraagt weer om je tweede stap.
invite-title = Sneller inloggen met een app
invite-intro = In plaats van op een sms te wachten, gebruik je een authenticator-app op je telefoon: die werkt ook zonder bereik en is veiliger dan sms. Instellen duurt een minuut.
invite-setup = Nu een app instellen
invite-later = Niet nu (nog { $left } keer)
invite-required = Je hebt dit al eerder uitgesteld: stel nu een app in om verder te gaan.
security-add-phone = Een telefoon toevoegen
security-add-phone-button = Stuur een code naar dit nummer
security-phone-added = Je telefoon is toegevoegd. We hebben een sms gestuurd over deze wijziging.
phone-add-title = Bevestig je nieuwe nummer
phone-add-intro = We hebben een code gestuurd naar { $phone }. Typ die hier om dit nummer toe te voegen.
error-phone-already-added = Dit nummer is al een van je inlogmethoden.
access-pass-link = Ik heb een tijdelijke toegangscode van de helpdesk
access-pass-title = Tijdelijke toegangscode
access-pass-intro = Typ de toegangscode die je van de helpdesk kreeg. Stel daarna een nieuwe manier van inloggen in.
access-pass-label = Toegangscode
access-pass-button = Doorgaan
error-access-pass = Deze toegangscode klopt niet, is verlopen of al gebruikt. Vraag de helpdesk om een nieuwe.
method-passkey = Toegangssleutel ({ $name })
method-push = tweestap-app ({ $name })
error-webauthn-refused = Dat lukte niet: je toestel bevestigde het niet, of de vraag was verlopen. Probeer het opnieuw.
error-webauthn-cancelled = Je toestel gaf geen bevestiging (geannuleerd of niet ondersteund). Probeer het opnieuw of kies een andere manier.
webauthn-needs-js = Hiervoor moet JavaScript aan staan in je browser.
error-push-blocked = Inloggen met de app staat voor dit account tijdelijk uit, omdat er een verzoek is gemeld als "Dit was ik niet". Kies een andere manier of neem contact op met de helpdesk.
error-push-pending = Er wacht al een verzoek op je telefoon. Beantwoord dat eerst, of wacht tot het verloopt.
error-push-cap = Er zijn dit uur te veel verzoeken naar je telefoon gestuurd. Kies een andere manier van inloggen.
error-push-paused = Verzoeken naar je telefoon zijn een paar keer geweigerd; ze staan { $minutes } { $minutes ->
    [one] minuut
   *[other] minuten
} uit. Kies een andere manier van inloggen.
error-bad-request = Dit verzoek klopt niet. Ververs de pagina en probeer het opnieuw.
passkey-title = Inloggen met je toegangssleutel
passkey-intro = Bevestig met je vingerafdruk, gezicht of pincode van je toestel.
passkey-button = Toegangssleutel gebruiken
passkey-add-title = Toegangssleutel toevoegen
passkey-add-intro = Een toegangssleutel (passkey) zit op je telefoon, laptop of beveiligingssleutel. Je bevestigt met je vingerafdruk, gezicht of pincode. Dit is de veiligste manier van inloggen: een nepsite kan hem niet gebruiken.
passkey-name = Naam van deze toegangssleutel
passkey-add-button = Toegangssleutel maken
passkey-default-name = Toegangssleutel
security-add-passkey = Een toegangssleutel toevoegen
security-add-passkey-intro = Inloggen met je vingerafdruk, gezicht of pincode: zonder code, en beschermd tegen nepsites.
security-add-passkey-button = Toegangssleutel toevoegen
security-passkey-added = Je toegangssleutel is toegevoegd. We hebben een sms gestuurd over deze wijziging.
security-add-push = De tweestap-app koppelen
security-add-push-intro = Keur inloggen goed op je telefoon: je kiest het getal dat op je scherm staat en bevestigt met je vingerafdruk. Geen code overtypen.
security-add-push-button = Telefoon koppelen
security-push-added = Je telefoon is gekoppeld. Voortaan kun je inloggen door op je telefoon goed te keuren.
push-title = Keur goed op je telefoon
push-intro = Open de tweestap-app op je telefoon en kies dit getal:
push-waiting = We wachten op je telefoon…
push-continue = Doorgaan
push-retry = Nieuw verzoek sturen
push-denied = Je hebt dit verzoek geweigerd op je telefoon.
push-wrong-number = Op je telefoon werd een ander getal gekozen. Stuur een nieuw verzoek en kies het getal op dit scherm.
push-reported = Je hebt gemeld dat jij dit niet was. Inloggen met de app en sms staat nu uit voor dit account; de helpdesk is gewaarschuwd.
push-expired = Dit verzoek is verlopen. Stuur een nieuw verzoek.
push-not-sent = Er is nog geen verzoek naar je telefoon gestuurd.
step-up-title = Nog één stap
step-up-intro = { $app } vraagt om een tweede stap, zoals een code. Je wachtwoord hoef je niet opnieuw te typen.
continue-title = Inloggen afmaken
continue-intro = Je was al aan het inloggen. Ga verder, dan kom je daarna bij { $app }.
push-not-approved-yet = Je telefoon heeft dit nog niet goedgekeurd. Kies het getal in de tweestap-app en probeer het daarna opnieuw.
push-notification-body = Probeer je in te loggen? Open de app en kies het getal op je scherm.
app-link-title = Je telefoon koppelen
app-link-step-scan = Scan deze QR-code met de camera van je telefoon.
app-link-step-confirm = Bevestig op je telefoon met je vingerafdruk, gezicht of pincode.
app-link-step-number = Kies daarna op je telefoon het getal dat hier verschijnt.
app-link-qr-alt = QR-code om je telefoon te koppelen
app-link-valid = Deze code werkt { $minutes } minuten en één keer.
app-link-waiting = Wachten op je telefoon…
app-link-pick = Kies dit getal op je telefoon om het koppelen af te ronden:
app-link-failed = Het koppelen is niet gelukt. Begin opnieuw vanaf je beveiligingsgegevens.
app-link-refresh = Ververs
app-link-invalid = Deze koppellink werkt niet (meer). Maak op je computer een nieuwe QR-code via je beveiligingsgegevens.
app-link-phone-title = Deze telefoon koppelen
app-link-phone-intro = Deze telefoon wordt gekoppeld aan het account van { $name }. Je bevestigt met je vingerafdruk, gezicht of pincode.
app-link-phone-name = Naam van deze telefoon
app-link-phone-button = Koppelen
app-default-name = Mijn telefoon
app-title = tweestap
app-not-linked = Deze telefoon is nog niet gekoppeld. Ga op je computer naar je beveiligingsgegevens, kies "Telefoon koppelen" en scan de QR-code.
app-linked-as = Gekoppeld aan { $name } ({ $device }).
app-no-requests = Er wachten geen verzoeken. Als je inlogt, verschijnt het verzoek hier.
app-refresh = Verversen
app-enable-notifications = Meldingen aanzetten
app-request-title = Inloggen bij { $org }?
app-request-link = Koppelen afronden
app-request-application = Toepassing
app-request-application-none = Beveiligingsportaal
app-request-browser = Browser
app-request-place = Locatie
app-request-time = Tijd
app-request-pick = Kies het getal dat op je scherm staat, en bevestig met je vingerafdruk.
app-request-deny = Weigeren
app-request-report = Dit was ik niet
app-result-approved = Goedgekeurd. Je kunt verder op je computer.
app-result-denied = Geweigerd. Er wordt niet ingelogd.
app-result-reported = Gemeld. Inloggen met de app en sms staat nu uit voor je account; de helpdesk is gewaarschuwd. Wijzig je wachtwoord.
app-result-wrong_number = Dat was niet het getal op het scherm. Dit verzoek is afgewezen.
app-result-expired = Dit verzoek was al verlopen.
app-result-already_answered = Dit verzoek was al beantwoord.
security-rename = Naam wijzigen
security-rename-label = Nieuwe naam
security-rename-button = Opslaan
security-renamed = De naam is gewijzigd.
app-link-other-account = Deze telefoon is al gekoppeld aan een ander account. Verwijder hem eerst daar bij de beveiligingsgegevens (of vraag de helpdesk), en scan dan opnieuw.
app-number-missing = Kies of typ het getal dat op het scherm van je computer staat.
app-request-link-number = Typ het getal dat op je computer staat
app-request-link-confirm = Bevestigen
