# Messages web de Passaggio, français. Un fichier par langue (syntaxe Fluent :
# https://projectfluent.org/fluent/guide/). Les identifiants ont le préfixe de la page qui les
# utilise (worker-, driver-, console-) ou common-. Un identifiant absent est pris en italien.
# Pour ajouter une langue : copier ce fichier en <code>.ftl et traduire les valeurs.

common-app-name = Passaggio
common-language = Langue
common-choose-language = Choisir
# Days of the week, ISO numbering (1 = Monday); the pages show them before the date.
common-weekday = { $day ->
     [1] lundi
     [2] mardi
     [3] mercredi
     [4] jeudi
     [5] vendredi
     [6] samedi
    *[7] dimanche
}
common-today = aujourd'hui
common-tomorrow = demain
language-name = Français

## Pages des personnes (/w/) : elles réservent, voient et annulent leurs trajets
worker-title = Passaggio : vos trajets
worker-sign-in-title = Entrer
worker-sign-in-help = Scannez le code QR de votre carte, ou tapez le code imprimé dessous.
worker-code = Code de la carte
worker-pin = Code PIN (seulement si vous l'avez choisi)
worker-sign-in = Entrer
worker-sign-in-failed = Ce code ne marche pas. Vérifiez-le, ou demandez une nouvelle carte à votre Polo.
worker-too-many = Trop d'essais. Attendez quelques minutes, puis réessayez.
worker-hello = Bonjour { $name }
worker-home-book = Réserver un trajet
worker-home-rides = Mes trajets
worker-home-lines = Lignes de travail
worker-home-report = Signaler un problème
worker-sign-out = Sortir
worker-signed-out = Vous êtes sorti. Rien de vous ne reste sur ce téléphone.
worker-free = Ce trajet est gratuit. Ne payez jamais personne pour l'avoir.
worker-polo-phone = Votre Polo : { $phone }
worker-book-title = Réserver un trajet
worker-from = Venez me chercher à
worker-to = Où allez-vous
worker-dest-work = Au travail
worker-dest-polo = Au Polo
worker-dest-office = À un bureau
worker-dest-appointment = À un rendez-vous
worker-place = Lieu
worker-choose = Choisir…
worker-day = Jour
worker-when = Quand
worker-arrive-by = Arriver avant
worker-leave-at = Partir à
worker-time = Heure
worker-passengers = Personnes qui voyagent (vous compris)
worker-wheelchair = Je voyage en fauteuil roulant
worker-return = Aussi le retour, en partant à
worker-book-submit = Réserver
worker-result-confirmed = Réservé. On vient vous chercher à { $time }.
worker-result-booked = Réservé pour le { $date }. L'heure est fixée quand la journée est organisée : regardez « Mes trajets ».
worker-result-queued = Réservé. Votre Polo vous donnera bientôt l'heure : regardez « Mes trajets ».
worker-result-refused = Aucun véhicule ne peut faire ce trajet.
worker-alternatives = À la place, vous pouvez :
worker-alt-line = prendre la ligne de travail { $line } à { $time }, à { $distance } m de votre point de rendez-vous
worker-alt-time = réserver à { $time }
worker-meeting-point = Point de rendez-vous
worker-rides-title = Mes trajets
worker-rides-count = { $count ->
    [one] 1 trajet réservé
   *[other] { $count } trajets réservés
}
worker-no-rides = Aucun trajet réservé.
worker-pickup-at = On vient vous chercher à { $time }
worker-expected-at = Prévu maintenant à { $time }
worker-pickup-pending = Heure pas encore fixée
worker-to-place = Vers { $place }
worker-status-requested = Réservé
worker-status-planned = Prévu
worker-status-confirmed = Confirmé
worker-status-cancelled = Annulé
worker-status-refused = Refusé
worker-status-completed = Fait
worker-status-no_show = Manqué
worker-cancel = Annuler ce trajet
worker-cancelled = Le trajet est annulé.
worker-ride-title = Votre trajet
worker-back = Retour
worker-home = Accueil
worker-lines-title = Lignes de travail
worker-lines-help = Une ligne de travail passe les jours ouvrables de la saison, à heures fixes. On s'inscrit une fois.
worker-line-board = Montez à { $stop } à { $time }
worker-line-to = jusqu'à { $stop }
worker-subscribe-season = Toute la saison (jusqu'au { $date })
worker-subscribe-days = Seulement du … au …
worker-from-day = Du
worker-to-day = Au
worker-subscribe = S'inscrire
worker-my-subscriptions = Mes inscriptions
worker-no-subscriptions = Aucune inscription.
worker-subscribed = Vous êtes inscrit.
worker-end-subscription = Arrêter cette inscription
worker-subscription-ended = Inscription arrêtée.
worker-subscription-until = jusqu'au { $date }
worker-report-title = Signaler un problème
worker-report-help = Dites-le à votre Polo en confiance. Seul le coordinateur du Polo le lit.
worker-report-money = Quelqu'un m'a demandé de l'argent
worker-report-documents = Quelqu'un m'a demandé mes papiers
worker-report-threat = On m'a menacé
worker-report-other = Autre chose
worker-report-details = Ce qui s'est passé (vous pouvez laisser vide)
worker-report-anonymous = Envoyer sans mon nom
worker-report-send = Envoyer
worker-report-sent = Envoyé. Votre Polo l'a reçu.
worker-error = Vérifiez : { $field }
worker-error-duplicate = Vous avez déjà un trajet à cette heure.
worker-error-full = Cette ligne est pleine certains de ces jours.
worker-error-already = Vous êtes déjà inscrit à cette ligne.
worker-not-found = Introuvable.
worker-card-title = Carte Passaggio
worker-card-for = Pour { $name }
worker-card-scan = Scannez avec l'appareil photo du téléphone pour entrer
worker-card-code = Ou tapez ce code
worker-card-pin = On vous demandera aussi votre code PIN.
worker-card-keep = Gardez cette carte pour vous. Si elle est perdue ou prise, votre Polo vous en donne une nouvelle et celle-ci ne marche plus.
worker-today = Aujourd'hui
worker-tomorrow = Demain
