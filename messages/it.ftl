# Messaggi web di Passaggio, italiano. Un file per lingua (sintassi Fluent:
# https://projectfluent.org/fluent/guide/). Condivisi da tutte le pagine: gli id hanno il
# prefisso della pagina che li usa (driver-, worker-, console-) o common-.
# Per aggiungere una lingua: copiare questo file in <codice>.ftl, tradurre, ricostruire (make web).

common-app-name = Passaggio
common-language = Lingua
common-choose-language = Scegli
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
