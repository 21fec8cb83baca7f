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
