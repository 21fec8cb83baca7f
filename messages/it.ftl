# Messaggi web di Passaggio, italiano. Un file per lingua (sintassi Fluent:
# https://projectfluent.org/fluent/guide/). Condivisi da tutte le pagine: gli id hanno il
# prefisso della pagina che li usa (driver-, worker-, console-) o common-.
# Per aggiungere una lingua: copiare questo file in <codice>.ftl, tradurre, ricostruire (make web).

common-app-name = Passaggio
common-language = Lingua
common-choose-language = Scegli
# Days of the week, ISO numbering (1 = Monday); the pages show them before the date.
common-weekday = { $day ->
     [1] lunedì
     [2] martedì
     [3] mercoledì
     [4] giovedì
     [5] venerdì
     [6] sabato
    *[7] domenica
}
common-today = oggi
common-tomorrow = domani
language-name = Italiano

## Accesso
driver-sign-in-title = Accesso autisti
driver-username = Nome utente
driver-password = Password
driver-sign-in = Entra
driver-sign-in-failed = Nome utente o password errati.
driver-sign-in-offline = Nessuna connessione: per entrare serve la rete.
driver-session-expired = L'accesso è scaduto. Entra di nuovo: nulla di ciò che aspetta l'invio va perso.
driver-sign-out = Esci
driver-sign-out-refused = { $count ->
    [one] Non puoi uscire: 1 azione aspetta ancora l'invio.
   *[other] Non puoi uscire: { $count } azioni aspettano ancora l'invio.
}

## Stato dell'invio
driver-outbox-waiting = { $count ->
    [one] 1 da inviare
   *[other] { $count } da inviare
}
driver-outbox-all-sent = tutto inviato ✓
driver-online = In linea
driver-offline = Non in linea
driver-updated-at = Aggiornato alle { $time }
driver-refresh = Aggiorna

## Corse
driver-runs-title = Le corse di oggi
driver-no-runs = Oggi non hai corse.
driver-run-summary = { $vehicle } · { $from }–{ $to } · { $stops ->
    [one] 1 fermata
   *[other] { $stops } fermate
}
driver-open-run = Apri la corsa
driver-back = Torna alle corse
driver-run-title = Corsa { $vehicle }
driver-estimated-times = Orari stimati (senza dati stradali).
driver-free-seats = { $seats ->
    [one] 1 posto libero
   *[other] { $seats } posti liberi
}
driver-free-wheelchair = { $places ->
    [one] 1 posto carrozzina
   *[other] { $places } posti carrozzina
}
driver-free-now = Liberi ora:
driver-free-on-arrival = Liberi all'arrivo:
driver-run-done = Corsa completata. Grazie!
driver-run-unavailable = Questa corsa non è più tua o è stata annullata. Chiedi al coordinatore.

## Fermate
driver-next-stop = Prossima fermata
driver-stop = Fermata { $n }
driver-stop-start = Partenza: { $place }
driver-stop-end = Arrivo: { $place }
driver-kind-pickup = Salita
driver-kind-dropoff = Discesa
driver-kind-start = Partenza
driver-kind-end = Fine
driver-break = Pausa { $from }–{ $to }, nessuno a bordo
driver-next-break = Prossima pausa: { $from }–{ $to } (45 minuti, regola UE sui tempi di guida)
driver-on-break = In pausa dalle { $since }, fino alle { $until }
driver-break-end = La mia pausa è finita
driver-break-start = Inizio la pausa adesso
driver-break-due = È il momento della pausa (prevista fino alle { $to })
driver-break-taken = Pausa fatta { $from }–{ $to }
driver-action-break_started = Pausa iniziata
driver-action-break_ended = Pausa finita
driver-planned = previsto { $time }
driver-landmark = Riferimento: { $landmark }
driver-passengers = { $count ->
    [one] 1 persona
   *[other] { $count } persone
}
driver-wheelchair = carrozzina
driver-languages = parla { $languages }
driver-rider-expected = atteso
driver-rider-on_board = a bordo
driver-rider-dropped_off = sceso
driver-rider-no_show = non si è presentato
driver-rider-cancelled = annullato
driver-stop-status-pending = da fare
driver-stop-status-arrived = arrivato
driver-stop-status-done = fatto
driver-stop-status-skipped = saltata

## Azioni
driver-action-arrived = Arrivato
driver-action-boarded = A bordo
driver-action-no_show = Assente
driver-action-dropped_off = Sceso
driver-action-note = Aggiungi nota
driver-no-show-wait = Assente possibile tra { $time }
driver-no-show-ready = Atteso { $minutes } min: assente possibile
driver-over-capacity = Posti insufficienti: { $seats } posti liberi, { $places } posti carrozzina.
driver-undo = Annulla «{ $action }» ({ $seconds } s)
driver-undone = Annullato.
driver-navigate = Naviga
driver-navigate-geo = Apri nelle mappe
driver-navigate-google = Indicazioni con Google Maps
driver-notes-title = Nota per questa fermata
driver-note-rider_late = Passeggero in ritardo
driver-note-meeting_point_moved = Punto d'incontro spostato
driver-note-road_blocked = Strada bloccata
driver-note-vehicle_problem = Problema al veicolo
driver-note-rider_unwell = Passeggero non sta bene
driver-note-language_help_needed = Serve aiuto con la lingua
driver-note-sent = Nota salvata.
driver-cancel = Annulla

## Elementi rifiutati
driver-refused-title = Non accettato dall'ufficio
driver-refused-item = { $action } alla fermata { $stop }: { $reason }
driver-refused-over_capacity = il veicolo era pieno
driver-refused-undo_too_late = troppo tardi per annullare
driver-refused-undo_after_record = già registrato, avvisa il coordinatore
driver-refused-other = rifiutato ({ $code })
driver-dismiss = OK

## Modifiche dell'ufficio
driver-changed = L'ufficio ha modificato questa corsa.
driver-changed-added = { $count ->
    [one] 1 passeggero nuovo
   *[other] { $count } passeggeri nuovi
}
driver-changed-removed = { $count ->
    [one] 1 passeggero annullato o spostato
   *[other] { $count } passeggeri annullati o spostati
}
driver-changed-moved = { $count ->
    [one] 1 orario cambiato
   *[other] { $count } orari cambiati
}
driver-update-ready = Una nuova versione dell'app è pronta; partirà dopo la corsa.

## Mappa
driver-map = Mappa della corsa
driver-map-attribution = © OpenStreetMap contributors
driver-map-sketch = Linee dritte tra le fermate: segui il navigatore.
driver-map-roads = Il percorso sulle strade, dai dati stradali dell'ufficio.
driver-you-are-here = Sei qui

## Pagine delle persone (/w/): prenotano, vedono e annullano le proprie corse
worker-title = Passaggio: le tue corse
worker-sign-in-title = Entra
worker-sign-in-help = Inquadra il codice QR della tua tessera, o scrivi il codice stampato sotto.
worker-code = Codice della tessera
worker-pin = PIN (solo se l'hai scelto)
worker-sign-in = Entra
worker-sign-in-failed = Questo codice non funziona. Controllalo, o chiedi una nuova tessera al tuo Polo.
worker-too-many = Troppi tentativi. Aspetta qualche minuto e riprova.
worker-hello = Ciao { $name }
worker-home-book = Prenota una corsa
worker-home-rides = Le mie corse
worker-home-lines = Linee lavoro
worker-home-report = Segnala un problema
worker-sign-out = Esci
worker-signed-out = Sei uscito. Su questo telefono non resta niente di tuo.
worker-free = Questa corsa è gratuita. Non pagare mai nessuno per averla.
worker-polo-phone = Il tuo Polo: { $phone }
worker-book-title = Prenota una corsa
worker-from = Vienimi a prendere a
worker-to = Dove vai
worker-dest-work = Al lavoro
worker-dest-polo = Al Polo
worker-dest-office = A un ufficio
worker-dest-appointment = A un appuntamento
worker-place = Luogo
worker-choose = Scegli…
worker-day = Giorno
worker-when = Quando
worker-arrive-by = Arrivare entro
worker-leave-at = Partire alle
worker-time = Ora
worker-passengers = Persone che viaggiano (tu compreso)
worker-wheelchair = Viaggio in sedia a rotelle
worker-return = Anche il ritorno, partendo alle
worker-book-submit = Prenota
worker-result-confirmed = Prenotata. Ti prendiamo alle { $time }.
worker-result-booked = Prenotata per il { $date }. L'ora in cui ti prendiamo si decide quando si organizza la giornata: guarda “Le mie corse”.
worker-result-queued = Prenotata. Il tuo Polo ti darà presto l'ora: guarda “Le mie corse”.
worker-result-refused = Nessun mezzo può fare questa corsa.
worker-alternatives = Puoi invece:
worker-alt-line = prendere la linea lavoro { $line } alle { $time }, a { $distance } m dal tuo punto di incontro
worker-alt-time = prenotare alle { $time }
worker-meeting-point = Punto di incontro
worker-rides-title = Le mie corse
worker-rides-count = { $count ->
    [one] 1 corsa prenotata
   *[other] { $count } corse prenotate
}
worker-no-rides = Nessuna corsa prenotata.
worker-pickup-at = Ti prendiamo alle { $time }
worker-expected-at = Ora previsto alle { $time }
worker-pickup-pending = Ora non ancora decisa
worker-to-place = Verso { $place }
worker-status-requested = Prenotata
worker-status-planned = In programma
worker-status-confirmed = Confermata
worker-status-cancelled = Annullata
worker-status-refused = Rifiutata
worker-status-completed = Fatta
worker-status-no_show = Persa
worker-cancel = Annulla questa corsa
worker-cancelled = La corsa è annullata.
worker-ride-title = La tua corsa
worker-back = Indietro
worker-home = Inizio
worker-lines-title = Linee lavoro
worker-lines-help = Una linea lavoro passa nei giorni lavorativi della stagione, a orari fissi. Ti iscrivi una volta.
worker-line-board = Sali a { $stop } alle { $time }
worker-line-to = fino a { $stop }
worker-subscribe-season = Tutta la stagione (fino al { $date })
worker-subscribe-days = Solo dal … al …
worker-from-day = Dal
worker-to-day = Al
worker-subscribe = Iscriviti
worker-my-subscriptions = Le mie iscrizioni
worker-no-subscriptions = Nessuna iscrizione.
worker-subscribed = Sei iscritto.
worker-end-subscription = Termina questa iscrizione
worker-subscription-ended = Iscrizione terminata.
worker-subscription-until = fino al { $date }
worker-report-title = Segnala un problema
worker-report-help = Dillo al tuo Polo in riservatezza. Lo legge solo il coordinatore del Polo.
worker-report-money = Qualcuno mi ha chiesto soldi
worker-report-documents = Qualcuno mi ha chiesto i documenti
worker-report-threat = Sono stato minacciato
worker-report-other = Altro
worker-report-details = Cosa è successo (puoi lasciarlo vuoto)
worker-report-anonymous = Invia senza il mio nome
worker-report-send = Invia
worker-report-sent = Inviata. Il tuo Polo l'ha ricevuta.
worker-error = Controlla: { $field }
worker-error-duplicate = Hai già una corsa a quell'ora.
worker-error-full = Questa linea è piena in alcuni di questi giorni.
worker-error-already = Sei già iscritto a questa linea.
worker-not-found = Non trovato.
worker-card-title = Tessera Passaggio
worker-card-for = Per { $name }
worker-card-scan = Inquadra con la fotocamera del telefono per entrare
worker-card-code = Oppure scrivi questo codice
worker-card-pin = Ti verrà chiesto anche il PIN.
worker-card-keep = Tieni questa tessera per te. Se la perdi o te la prendono, il tuo Polo te ne dà una nuova e questa smette di funzionare.
worker-today = Oggi
worker-tomorrow = Domani

## Console dei coordinatori
console-title = Console Passaggio
console-skip = Vai al contenuto
console-nav = Sezioni della console
console-nav-day = La giornata
console-nav-book = Prenota
console-nav-planning = Pianificazione
console-nav-fleet = Linee e mezzi
console-logout = Esci
console-login-title = Accesso del personale
console-login-username = Nome utente
console-login-password = Password
console-login-submit = Entra
console-login-wrong = Nome utente o password errati.
console-login-limited = Troppi tentativi: riprova tra qualche minuto.
console-error = Qualcosa non ha funzionato
console-error-not-found = Non trovato
console-error-forbidden = Non consentito
console-back-day = Torna alla giornata
console-day-title = La giornata
console-date = Giorno
console-filter-status = Stato
console-filter-all = Tutti
console-filter-name = Nome
console-filter-apply = Filtra
console-map-title = Mappa del giorno
console-map-stops = fermate
console-map-updated = Aggiornata alle
console-map-failed = Mappa non aggiornata: nuovo tentativo tra poco.
console-map-runs = { $count ->
    [one] 1 corsa
   *[other] { $count } corse
}
console-map-break = Pausa dell'autista
console-on-break-title = Autisti in pausa adesso
console-on-break-reported = segnalata dall'autista
console-on-break-planned = come da piano
console-on-break-until = fino alle { $until }
console-late-title = Corse in ritardo
console-late-shift = finisce dopo il turno dell'autista
console-late-promises = { $count ->
    [one] 1 orario promesso a rischio
   *[other] { $count } orari promessi a rischio
}
console-requests-title = Richieste del Polo
console-group-unserved = Non servite
console-group-planned = Pianificate
console-group-in_progress = In corso
console-group-done = Concluse
console-group-no_show = Assenti
console-group-cancelled = Annullate
console-col-time = Ora
console-col-breaks = Pause dell'autista
console-col-person = Persona
console-col-trip = Tragitto
console-col-status = Stato
console-at-risk = a rischio
console-no-requests = Nessuna richiesta per questo giorno.
console-book-title = Prenota per una persona
console-search-label = Nome o codice del caso
console-search = Cerca
console-search-none = Nessuna persona del tuo Polo corrisponde.
console-case-open = Caso aperto
console-case-suspended = Caso sospeso
console-case-closed = Caso chiuso
console-case-worker = Operatore
console-wheelchair = in sedia a rotelle
console-appointment-title = Trasporto per un appuntamento
console-appointment-place = Dove
console-appointment-what = Per cosa
console-appointment-starts = Inizio
console-appointment-ends = Fine
console-appointment-from = Punto d'incontro
console-appointment-return = Anche il ritorno
console-appointment-book = Prenota andata e ritorno
console-mobility-title = Mobilità
console-rides-taken = Viaggi fatti
console-rides-missed = Viaggi persi
console-cost = Costo
console-budget-title = Budget di Integrazione
console-budget-area = Area
console-budget-spent = Speso
console-budget-left = Disponibile
console-budget-chart = Speso e disponibile per area del Budget di Integrazione
console-area-housing = Abitare
console-area-social_health = Socio-sanitaria
console-area-integration_orientation = Orientamento e integrazione
console-area-active_labour = Lavoro
console-rides-title = Viaggi e richieste
console-no-rides = Nessun viaggio.
console-access-log = Chi ha consultato il caso
console-log-when = Quando
console-log-who = Chi
console-log-why = Perché
console-purpose-work_shift = Turno di lavoro
console-purpose-appointment = Appuntamento
console-purpose-return = Ritorno
console-purpose-training = Formazione
console-purpose-other = Altro
console-status-requested = Richiesta
console-status-planned = Pianificata
console-status-confirmed = Confermata
console-status-cancelled = Annullata
console-status-refused = Rifiutata
console-status-completed = Conclusa
console-status-no_show = Assente
console-booked = Prenotato. Gli orari promessi arrivano con la pianificazione (oggi: subito).
console-moved = Spostata: nuova salita alle { $time }.
console-not-moved = Non spostata: la corsa scelta non può prenderla.
console-cancelled = Annullata.
console-corrected = Assenza corretta: il viaggio è registrato come fatto e il conto è aggiornato con nuove voci.
console-times-title = Orari promessi
console-promised-pickup = Salita promessa alle
console-not-yet-promised = Orario non ancora promesso
console-not-before = non prima delle
console-arrive-by = arrivo entro le
console-print = Stampa
console-copy = Copia
console-history = Storia della richiesta
console-move-title = Sposta su un'altra corsa
console-move-run = Corsa
console-move = Sposta
console-line = linea
console-cancel-title = Annulla
console-reason = Motivo
console-cancel = Annulla la richiesta
console-noshow-title = Correggi un'assenza sbagliata
console-noshow-help = Se la persona ha viaggiato davvero: la correzione resta registrata con chi l'ha fatta e perché, e il conto si corregge con nuove voci.
console-noshow-correct = Correggi l'assenza
console-planning-title = Pianificazione
console-planning-limit = Tempo massimo (secondi)
console-planning-run = Pianifica il giorno
console-planning-job = Ultima pianificazione
console-planning-running = In corso
console-planning-failed = La pianificazione non è riuscita.
console-planning-done = Pianificazione conclusa
console-planning-runs = { $count ->
    [one] 1 corsa
   *[other] { $count } corse
}
console-planning-vehicles = { $count ->
    [one] 1 mezzo usato
   *[other] { $count } mezzi usati
}
console-planning-estimated = tempi stimati
console-planning-roads = tempi su strada
console-planning-unserved = Non servite
console-planning-result = Le corse
console-planning-jobs = Pianificazioni del giorno
console-request = Richiesta
console-vehicle = Mezzo
console-fleet-title = Linee e mezzi
console-lines = Linee lavoro
console-season = Stagione
console-seats = Posti
console-vehicles = Mezzi
console-wheelchair-places = Posti carrozzina
console-operator = Gestore
console-depot = Deposito
console-drivers = Autisti
console-line-subscribers = { $count ->
    [one] 1 iscritto
   *[other] { $count } iscritti
}
console-saved = Salvato.
console-heat-title = Orario per l'ordinanza caldo
console-heat-help = Nei giorni segnati (ordinanze regionali che fermano il lavoro nei campi nelle ore più calde) la linea fa questi orari, e i viaggi dei suoi iscritti li seguono. Segnare un giorno va fatto prima che la sua corsa sia pianificata.
console-stop = Fermata
console-stop-time = Orario
console-heat-time = Orario con ordinanza
console-heat-save = Salva l'orario alternativo
console-heat-days = Giorni con ordinanza
console-heat-none = Nessun giorno segnato.
console-heat-mark = Segna il giorno
console-heat-unmark = Togli
console-line-polo-subscribers = Iscritti del tuo Polo
console-line-end-title = Chiudi la linea
console-line-end-help = Dopo l'ultimo giorno la linea non gira più: le iscrizioni finiscono, i viaggi dei giorni dopo sono annullati e chi era stato messo sulle sue corse torna in attesa.
console-line-last-day = Ultimo giorno
console-line-end = Chiudi la linea
console-subscribe-title = Iscrivi una persona del Polo
console-subscribe-board = Sale a
console-subscribe-alight = Scende a
console-subscribe-from = Dal
console-subscribe-to = Al
console-subscribe = Iscrivi


## Console: segnalazioni dei lavoratori
console-nav-reports = Segnalazioni
console-reports-title = Segnalazioni dei lavoratori
console-reports-help = Riservate: le legge solo il coordinamento del Polo. Chi ha chiesto l'anonimato non è nominato.
console-reports-empty = Nessuna segnalazione.
console-report-received = Ricevuta
console-report-kind = Di cosa si tratta
console-report-person = Persona
console-report-details = Cosa è successo
console-report-status = Stato
console-report-anonymous = anonima
console-report-status-new = nuova
console-report-status-in_progress = in corso
console-report-status-closed = chiusa
console-report-save = Salva
console-line-new = Nuova linea lavoro
console-line-create = Crea la linea
console-line-name = Nome
console-season-start = Inizio stagione
console-season-end = Fine stagione
console-operating-days = Giorni di servizio
console-weekday-1 = Lunedì
console-weekday-2 = Martedì
console-weekday-3 = Mercoledì
console-weekday-4 = Giovedì
console-weekday-5 = Venerdì
console-weekday-6 = Sabato
console-weekday-7 = Domenica
console-line-stops = Fermate
console-line-stops-help = Almeno due fermate in ordine, ognuna con il suo orario (HH:MM, crescente: una linea non supera la mezzanotte). Le righe vuote sono ignorate.
console-line-no-vehicle = Nessun mezzo (indicare i posti)
console-line-edit-title = Modifica la linea
console-line-edit-help = Posti e posti carrozzina non possono scendere sotto quelli già prenotati; stagione e giorni devono comprendere i giorni con la corsa già creata; con persone iscritte si possono cambiare solo gli orari delle fermate.
console-line-no-break = L'orario non lascia la pausa all'autista: un tratto supera le 4 h 30 senza un'attesa di 45 minuti tra due fermate (regola UE). Le corse di questa linea avranno la pausa in ritardo o per niente; aggiungere un'attesa o dividere la linea tra due autisti.
console-line-save = Salva la linea
console-fleet-admin-only = Mezzi e autisti sono aggiunti dall'amministrazione del programma.
