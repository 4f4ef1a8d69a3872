package synth

// appTable describes every service of the dataset, one line each:
//
//	app | share % | provider | family | clients | modes | SNI host patterns
//
// share: the app's share of a September weekday's flows in percent, before
// the per-category scaling to DATASET.md §4 (0: absent from the data).
// provider: shares certificates, servers, ASNs and RTTs with its other
// services. family: w(ork), l(eisure), b(ackground) hour-of-day profile.
// clients: the client population preset (JA3 mix). modes: traffic modes
// with weights. hosts: SNI names; "{n}" expands to 1..n. A host belongs to
// exactly one app; hosts of one provider share domains and CDNs, so a rule
// on the registered domain alone is not enough, while the full rules are.
//
// The 20 absent apps are the 15 probable absentees of DATASET.md §4 plus five
// picks that fit the alphabetical gaps found there (ctu-matrix; eset-esa,
// mcafee-ccs, ndk; uzis-plf).
const appTable = `
adobe-ads|0.35|adobe|l|web|ads:8 api:2|dpm.demdex.net adobe{4}.demdex.net ads.adobe.com
adobe-analytics|0.25|adobe|b|web|tele:8 tiny:2|adobe.sc.omtrdc.net sstats.adobe.com smetrics{3}.adobe.com
adobe-authentication|0.15|adobe|w|agent|api:10|ims-na1.adobelogin.com auth.services.adobe.com adobeid-na1.services.adobe.com
adobe-cloud|0.12|adobe|w|agent|upload:4 bulk:3 api:3|cc-api-storage.adobe.io cc-api-data.adobe.io cloudfiles.adobe.io
adobe-notifications|0.08|adobe|b|agent|push:10|notify.adobe.io p13n.adobe.io
adobe-search|0.002|adobe|w|agent|api:10|adobesearch.adobe.io
adobe-updater|0.06|adobe|w|agent|api:6 bulk:4|ardownload{3}.adobe.com armmf.adobe.com ccmdl.adobe.com
alza-bnr|0.25|alza|l|web|ads:10|bnr.alza.cz
alza-logapi|0.06|alza|b|web|tele:10|logapi.alza.cz
alza-cdn|0.3|alza|l|web|web:6 bulk:4|cdn.alza.cz image{4}.alza.cz
alza-signalr|0.03|alza|l|web|rt:10|signalr.alza.cz
alza-webapi|0.1|alza|l|web|api:10|webapi.alza.cz
amazon-advertising|0.9|amazon|l|web|ads:10|aax-eu.amazon-adsystem.com c.amazon-adsystem.com s.amazon-adsystem.com fls-eu.amazon-adsystem.com
amazon-prime|0.15|amazon|l|mobile|stream:7 api:3|atv-ps-eu.primevideo.com pv-cdn{6}.aiv-cdn.net eu.api.amazonvideo.com
amazon-alexa|0.07|amazon|l|mobile|push:6 api:4|avs-alexa-eu.amazon.com bob-dispatch-prod-eu.amazon.com api.eu.amazonalexa.com
apple-ocsp|1.2|apple|b|apple|tiny:10|ocsp.apple.com ocsp2.apple.com valid.apple.com
apple-authentication|0|apple|b|apple|api:10|gsa.apple.com
apple-icloud|0.9|apple|b|apple|api:5 upload:3 bulk:2|p{60}-contacts.icloud.com p{60}-caldav.icloud.com gateway.icloud.com setup.icloud.com
apple-location|0.8|apple|b|apple|api:10|gs-loc.apple.com gsp{10}-ssl.ls.apple.com
apple-itunes|0.6|apple|l|apple|api:6 stream:4|itunes.apple.com play.itunes.apple.com init.itunes.apple.com amp-api.music.apple.com
apple-push|0|apple|b|apple|push:10|{50}-courier.push.apple.com
apple-pancake|0.3|apple|b|apple|tele:10|pancake.apple.com
apple-updates|0.15|apple|w|apple|api:5 bulk:5|mesu.apple.com updates.cdn-apple.com swscan.apple.com
apple-siri|0|apple|l|apple|rt:10|guzzoni.apple.com
apple-weather|0.25|apple|b|apple|api:10|weather-data.apple.com weatherkit.apple.com
cesnet-login|0.05|cesnet|w|web|api:7 web:3|login.cesnet.cz idp.cesnet.cz
cesnet-filesender|0.01|cesnet|w|web|upload:6 bulk:4|filesender.cesnet.cz
cesnet-nerd|0.01|cesnet|w|web|api:10|nerd.cesnet.cz
cesnet-gerrit|0.003|cesnet|w|web|web:10|gerrit.cesnet.cz
cesnet-perun|0.01|cesnet|w|web|web:6 api:4|perun.cesnet.cz perun-api.cesnet.cz
cesnet-kalendar|0.01|cesnet|w|web|api:10|kalendar.cesnet.cz
cesnet-ctihub|0|cesnet|w|web|api:10|ctihub.cesnet.cz
ctu-idp2|0.03|ctu|w|web|api:6 web:4|idp2.civ.cvut.cz
ctu-kos|0.03|ctu|w|web|web:10|www.kos.cvut.cz
ctu-matrix|0|ctu|l|electron|rt:10|matrix.cvut.cz
ctu-felmail|0.05|ctu|w|web|web:6 push:4|mail.fel.cvut.cz
ctu-kosapi|0.01|ctu|w|java|api:10|kosapi.fit.cvut.cz
eset-edf|1.0|eset|b|agent|tele:7 tiny:3|edf.eset.com edf{3}.eset.com
eset-ts|0.6|eset|b|agent|tiny:10|ts.eset.com ts{4}.eset.com
eset-edtd|0.3|eset|b|agent|upload:6 api:4|edtd.eset.com
eset-esa|0|eset|w|agent|api:10|esa.eset.com
eset-epns|0.35|eset|b|agent|push:10|epns.eset.com
facebook-messenger|0.5|facebook|l|mobile|rt:8 api:2|edge-mqtt.facebook.com mqtt-mini.facebook.com b-graph.facebook.com
whatsapp|0.8|facebook|l|mobile|rt:6 push:2 bulk:2|g.whatsapp.net mmg.whatsapp.net media-prg{2}-1.cdn.whatsapp.net
facebook-media|2.0|facebook|l|mobile|bulk:6 stream:4|scontent-prg{3}-1.xx.fbcdn.net video-prg{3}-1.xx.fbcdn.net static.xx.fbcdn.net
facebook-graph|0|facebook|b|mobile|api:8 tele:2|graph.facebook.com graph.instagram.com gateway.facebook.com
facebook-web|2.5|facebook|l|web|web:8 api:2|www.facebook.com web.facebook.com m.facebook.com
instagram|2.8|facebook|l|mobile|api:5 bulk:5|i.instagram.com www.instagram.com instagram.fprg{4}-1.fna.fbcdn.net
google-ads|0|google|l|web|ads:10|googleads.g.doubleclick.net pagead2.googlesyndication.com tpc.googlesyndication.com ad.doubleclick.net www.googleadservices.com
google-conncheck|0.45|google|b|gms|tiny:10|connectivitycheck.gstatic.com clients{6}.google.com
google-safebrowsing|1.2|google|b|web|tiny:6 api:4|safebrowsing.googleapis.com sb-ssl.google.com
google-authentication|1.1|google|b|gms|api:10|accounts.google.com oauth2.googleapis.com www.googleapis.com
google-drive|0.8|google|w|web|api:4 upload:3 bulk:3|drive.google.com docs.google.com content.googleapis.com doc-{16}-docs.googleusercontent.com
google-userlocation|0.9|google|b|gms|api:10|userlocation.googleapis.com geller-pa.googleapis.com
gmail|1.2|google|w|web|web:4 push:4 api:2|mail.google.com gmail.googleapis.com inbox.google.com
google-fonts|1.2|google|l|web|tiny:4 bulk:6|fonts.googleapis.com fonts.gstatic.com
youtube|2.2|google|l|web|stream:6 api:4|www.youtube.com youtubei.googleapis.com i.ytimg.com rr{8}---sn-2gb7sn7k.googlevideo.com rr{8}---sn-nv47lnes.googlevideo.com
google-services|2.5|google|b|gms|api:8 tele:2|android.googleapis.com play.googleapis.com android.clients.google.com firebaseinstallations.googleapis.com
google-play|0|google|l|gms|api:6 bulk:4|play.google.com play-lh.googleusercontent.com play-fe.googleapis.com r{8}---sn-2gb7sn7l.gvt1.com
google-translate|0.3|google|w|web|api:10|translate.googleapis.com translate.google.com translate-pa.googleapis.com
chrome-remotedesktop|0.04|google|w|chrome|rt:10|remotedesktop-pa.googleapis.com remotedesktop.google.com
google-www|2.2|google|l|web|web:7 api:3|www.google.com www.google.cz www.gstatic.com apis.google.com
google-hangouts|0.2|google|w|web|rt:8 push:2|hangouts.google.com meet.google.com chat.google.com
mcafee-gti|0.4|mcafee|b|agent|tiny:10|gti.mcafee.com tunnel.web.trustedsource.org
mcafee-realprotect|0.2|mcafee|b|agent|tele:10|realprotect.mcafee.com
mcafee-ccs|0|mcafee|b|agent|api:10|ccs.mcafee.com
microsoft-diagnostic|0|microsoft|b|win|tele:10|v10.events.data.microsoft.com v20.events.data.microsoft.com self.events.data.microsoft.com watson.telemetry.microsoft.com
microsoft-settings|0|microsoft|b|win|api:7 tiny:3|settings-win.data.microsoft.com config.edge.skype.com ecs.office.com arc.msn.com
microsoft-notes|0|microsoft|w|win|api:10|notes.office.com
visualstudio-insights|0.15|microsoft|w|electron|tele:10|dc.services.visualstudio.com dc.applicationinsights.microsoft.com
microsoft-defender|1.3|microsoft|b|win|api:6 tiny:4|wdcp.microsoft.com wdcpalt.microsoft.com smartscreen.microsoft.com unitedstates.smartscreen-prod.microsoft.com
microsoft-authentication|2.2|microsoft|b|win|api:10|login.microsoftonline.com login.live.com aadcdn.msauth.net device.login.microsoftonline.com
microsoft-onedrive|1.2|microsoft|w|win|api:5 upload:3 bulk:2|onedrive.live.com skyapi.onedrive.live.com g.live.com my.microsoftpersonalcontent.com
xbox-live|0.5|microsoft|l|win|api:6 rt:4|xsts.auth.xboxlive.com title.mgt.xboxlive.com userpresence.xboxlive.com
outlook|1.8|microsoft|w|win|web:4 push:4 api:2|outlook.office365.com outlook.office.com outlook.live.com substrate.office.com
microsoft-push|1.0|microsoft|b|win|push:10|client.wns.windows.com wns{9}-prg.notify.windows.com
edge-ntp|1.0|microsoft|l|edge|web:6 api:4|ntp.msn.com assets.msn.com c.msn.com
office365|0|microsoft|w|win|api:6 web:4|www.office.com officeclient.microsoft.com nexus.officeapps.live.com roaming.officeapps.live.com
bing|0.8|microsoft|l|web|web:7 api:3|www.bing.com th.bing.com r.bing.com
microsoft-update|0|microsoft|w|win|api:5 bulk:5|fe{3}.delivery.mp.microsoft.com tlu.dl.delivery.mp.microsoft.com slscr.update.microsoft.com sls.update.microsoft.com
vscode-update|0.08|microsoft|w|electron|api:6 bulk:4|update.code.visualstudio.com marketplace.visualstudio.com
skype|0.3|microsoft|l|electron|rt:8 push:2|api.skype.com edge.skype.com gateway.messenger.live.com
teams|0|microsoft|w|electron|rt:5 api:3 push:2|teams.microsoft.com teams.events.data.microsoft.com presence.teams.microsoft.com api.spaces.skype.com
microsoft-weather|0.3|microsoft|l|win|api:10|weather.microsoft.com weather.service.msn.com
mozilla-telemetry|0.3|mozilla|b|firefox|tele:10|incoming.telemetry.mozilla.org
firefox-settings|0.2|mozilla|b|firefox|api:10|firefox.settings.services.mozilla.com content-signature-2.cdn.mozilla.net
thunderbird-telemetry|0.03|mozilla|b|thunder|tele:10|incoming.telemetry.thunderbird.net
mozilla-token|0.15|mozilla|b|firefox|api:10|token.services.mozilla.com
firefox-accounts|0.1|mozilla|b|firefox|api:10|api.accounts.firefox.com accounts.firefox.com
mozilla-location|0.3|mozilla|b|firefox|api:10|location.services.mozilla.com
mozilla-push|0.4|mozilla|b|firefox|push:10|push.services.mozilla.com
opera-sitecheck|0.05|opera|b|opera|tiny:10|sitecheck{2}.opera.com
opera-oauth2|0|opera|b|opera|api:10|oauth2.opera.com
opera-notifications|0|opera|b|opera|push:10|notifications.opera.com
opera-speeddial|0.1|opera|l|opera|api:6 bulk:4|speeddial.opera.com sd-images.operacdn.com
opera-autoupdate|0.03|opera|w|opera|api:7 bulk:3|autoupdate.geo.opera.com
opera-weather|0.02|opera|l|opera|api:10|weather.opera.com
seznam-ssp|2.2|seznam|l|web|ads:10|ssp.seznam.cz d.seznam.cz h.imedia.cz
seznam-authentication|0.4|seznam|b|web|api:10|login.szn.cz login.seznam.cz
maps-cz|1.0|seznam|l|web|api:4 bulk:6|mapy.cz mapserver.mapy.cz pro.mapy.cz
seznam-email|0.8|seznam|w|web|web:5 push:5|email.seznam.cz email.szn.cz
seznam-media|0.7|seznam|l|web|bulk:7 stream:3|d{20}-a.sdn.cz d{20}-e.sdn.cz
super-media|0.15|seznam|l|web|bulk:10|www.super.cz img.super.cz
seznam-notifications|0.3|seznam|b|web|push:10|notify.seznam.cz
seznam-search|0.7|seznam|l|web|web:7 api:3|search.seznam.cz suggest.seznam.cz
sukl-authentication|0.004|sukl|w|web|api:10|auth.sukl.cz
sukl-erecept|0.01|sukl|w|java|api:10|lekar-soap.erecept.sukl.cz
sukl-api|0.005|sukl|w|java|api:10|api.sukl.cz
appnexus|1.6|appnexus|l|web|ads:10|ib.adnxs.com secure.adnxs.com acdn.adnxs.com
pubmatic|1.2|pubmatic|l|web|ads:10|ads.pubmatic.com image{6}.pubmatic.com hbopenbid.pubmatic.com
rubiconproject|1.4|rubicon|l|web|ads:10|fastlane.rubiconproject.com pixel.rubiconproject.com eus.rubiconproject.com
r2d2|1.0|r2b2|l|web|ads:10|delivery.r2b2.cz trackad.cz
loggly|0.01|loggly|b|node|tele:10|logs-01.loggly.com
hicloud-conncheck|0.08|huawei|b|agent|tiny:10|connectivitycheck.platform.hicloud.com
hicloud-logservice|0.05|huawei|b|agent|tele:10|logservice{2}.hicloud.com metrics{2}.data.hicloud.com
xiaomi-tracking|0.1|xiaomi|b|agent|tele:10|tracking.miui.com data.mistat.xiaomi.com
nvidiagfe-events|0.04|nvidia|b|agent|tele:10|events.gfe.nvidia.com
avast|1.5|avast|b|agent|tiny:5 api:3 tele:2|ncc.avast.com su.ff.avast.com shepherd.ff.avast.com v7event.stats.avast.com
kaspersky|0.5|kaspersky|b|agent|tiny:6 api:4|ds.kaspersky.com dm.kaspersky-labs.com ksn-{4}.kaspersky-labs.com
malwarebytes-telemetry|0.08|malwarebytes|b|agent|tele:10|telemetry.malwarebytes.com
bitdefender-gravityzone|0.1|bitdefender|b|agent|api:10|cloud-ecs.gravityzone.bitdefender.com
bitdefender-nimbus|0.2|bitdefender|b|agent|tiny:10|nimbus.bitdefender.net
xiaomi-accounts|0|xiaomi|b|agent|api:10|account.xiaomi.com
vsb-sso|0.005|vsb|w|web|api:10|sso.vsb.cz
docker-authentication|0.08|docker|w|go|api:10|auth.docker.io
eidentita|0.006|eidentita|w|web|api:7 web:3|www.eidentita.cz
dropbox|0.5|dropbox|w|agent|api:4 push:3 upload:3|client.dropbox.com bolt.dropbox.com d.dropbox.com content.dropboxapi.com
github|0.4|github|w|web|web:5 api:3 bulk:2|github.com api.github.com avatars.githubusercontent.com objects.githubusercontent.com
uschovna|0.01|uschovna|w|web|upload:6 bulk:4|www.uschovna.cz
ulozto|0.1|ulozto|l|web|bulk:7 web:3|ulozto.cz download{4}.uloz.to
gitlab|0.06|gitlab|w|web|web:6 bulk:4|gitlab.com gitlab.fel.cvut.cz
owncloud|0.03|cesnet|w|agent|api:6 upload:2 bulk:2|owncloud.cesnet.cz
steam|0.6|steam|l|agent|api:4 bulk:4 rt:2|api.steampowered.com steamcommunity.com cache{6}-prg1.steamcontent.com
unity-games|0.3|unity|l|mobile|tele:6 api:4|config.uca.cloud.unity3d.com cdp.cloud.unity3d.com
riot-games|0.3|riot|l|agent|api:6 rt:4|auth.riotgames.com clientconfig.rpg.riotgames.com eu-red.lol.secure.dyn.riotcdn.net
king-games|0.15|king|l|mobile|api:10|candycrush.king.com mobile.king.com
ea-games|0.2|ea|l|agent|api:7 bulk:3|accounts.ea.com gateway.ea.com origin-a.akamaihd.net
uzis-plf|0|uzis|w|web|api:10|plf.uzis.cz
uzis-ocko|0.02|uzis|w|web|web:10|ocko.uzis.cz
moodle|0.4|moodle|w|web|web:8 api:2|moodle.cvut.cz moodle.muni.cz elearning.vsb.cz moodle.czu.cz
redmine|0.01|cesnet|w|web|web:10|redmine.cesnet.cz
vse-insis|0.03|vse|w|web|web:10|insis.vse.cz
justice-isir|0.01|justice|w|web|web:10|isir.justice.cz
ksrzis|0|ksrzis|w|web|api:10|ksrzis.cz
ndk|0|cesnet|w|web|bulk:10|ndk.cz
katastr-nahlizeni|0.01|katastr|w|web|web:10|nahlizenidokn.cuzk.cz
datova-schranka|0.05|datovka|w|web|web:6 api:4|www.mojedatovaschranka.cz ws1.mojedatovaschranka.cz
slack|0.15|slack|w|electron|rt:5 push:3 api:2|wss-primary.slack.com app.slack.com edgeapi.slack.com
discord|0.35|discord|l|electron|rt:6 api:2 bulk:2|gateway.discord.gg discord.com cdn.discordapp.com media.discordapp.net
csas-webchat|0.01|csas|w|web|rt:10|webchat.csas.cz
fio-ib|0.08|fio|w|web|web:10|ib.fio.cz
csob-ib|0|csob|w|web|web:10|ib.csob.cz
moneta-ib|0|moneta|w|web|web:10|ib.moneta.cz
csas-ib|0|csas|w|web|web:10|ib.csas.cz
rb-ib|0.05|rb|w|web|web:10|online.rb.cz
airbank-ib|0.08|airbank|w|mobile|api:10|ib.airbank.cz api.airbank.cz
kb-ib|0.1|kb|w|web|web:7 api:3|login.kb.cz mojebanka.kb.cz
3dsecure|0.1|3dsecure|w|web|api:10|acs{3}.3dsecure.cz centinelapi.cardinalcommerce.com
yahoo-mail|0.1|yahoo|w|web|web:6 push:4|mail.yahoo.com api.mail.yahoo.com
vimeo|0.1|vimeo|l|web|stream:7 api:3|player.vimeo.com vod-adaptive-ak.vimeocdn.com i.vimeocdn.com
netflix|0.35|netflix|l|mobile|stream:7 api:3|www.netflix.com ipv4-c{9}-prg001-ix.1.oca.nflxvideo.net occ-0-{4}.1.nflxso.net
twitch|0.2|twitch|l|web|stream:6 rt:4|www.twitch.tv gql.twitch.tv video-edge-{9}.prg01.abs.hls.ttvnw.net
o2tv|0.08|o2|l|mobile|stream:10|api.o2tv.cz cdn{4}.o2tv.cz
font-awesome|0.3|fontawesome|l|web|tiny:4 bulk:6|use.fontawesome.com kit.fontawesome.com ka-f.fontawesome.com
wikimedia-commons|0|wikimedia|l|web|bulk:10|upload.wikimedia.org
sumava-camdata|0.02|sumava|l|web|bulk:10|camdata.sumava.net
spotify|0|spotify|l|electron|api:5 stream:5|spclient.wg.spotify.com apresolve.spotify.com audio-ak-spotify-com.akamaized.net i.scdn.co
soundcloud|0.15|soundcloud|l|web|stream:6 api:4|api-v2.soundcloud.com cf-media.sndcdn.com i1.sndcdn.com
uzis-api|0.005|uzis|w|java|api:10|api.uzis.cz
autodesk|0.1|autodesk|w|agent|api:10|developer.api.autodesk.com accounts.autodesk.com
doh|0.6|cloudflare|b|firefox|rt:6 api:4|mozilla.cloudflare-dns.com cloudflare-dns.com dns.google chrome.cloudflare-dns.com
hlidacstatu-ocr|0|hlidacstatu|w|go|api:10|ocr.hlidacstatu.cz
ekasa|0|ekasa|w|java|api:10|eet.financnisprava.cz
vzp-api|0.004|vzp|w|java|api:10|api.vzp.cz
aukro-backend|0.05|aukro|l|mobile|api:10|backend.aukro.cz
rozhlas-api|0.02|rozhlas|l|web|api:10|api.rozhlas.cz
zotero|0.01|zotero|w|agent|api:10|api.zotero.org sync.zotero.org
obalky-knih|0.01|obalky|w|java|tiny:10|cache.obalkyknih.cz
nvidiagfe-services|0.08|nvidia|b|agent|api:10|services.gfe.nvidia.com gfwsl.geforce.com
grammarly|0.3|grammarly|w|electron|rt:6 api:4|capi.grammarly.com gnar.grammarly.com f-log-extension.grammarly.io
signageos|0.02|signageos|b|node|api:10|api.signageos.io
booking-com|0.1|booking|l|web|web:10|www.booking.com cf.bstatic.com
salesforce|0.15|salesforce|w|web|web:6 api:4|login.salesforce.com na{9}.salesforce.com
dopravni-info|0.01|dopravni|l|web|api:10|api.dopravniinfo.cz
vmware-vcsa|0.01|vmware|w|java|api:10|vcsa.vmware.com
teamviewer-client|0.06|teamviewer|w|agent|rt:10|router{16}.teamviewer.com master{9}.teamviewer.com
duckduckgo|0.15|duckduckgo|l|web|web:7 api:3|duckduckgo.com links.duckduckgo.com
mlp-search|0.002|mlp|l|web|api:10|search.mlp.cz
tiktok|0|tiktok|l|mobile|stream:6 api:4|www.tiktok.com api16-normal-c-useast1a.tiktokv.com v{16}-webapp.tiktok.com mon.tiktokv.com
snapchat|0.6|snapchat|l|mobile|api:6 bulk:4|app.snapchat.com gcp.api.snapchat.com cf-st.sc-cdn.net
twitter|0.9|twitter|l|mobile|api:6 bulk:4|api.twitter.com twitter.com pbs.twimg.com video.twimg.com
tinder|0.3|tinder|l|mobile|api:7 bulk:3|api.gotinder.com images-ssl.gotinder.com
docker-registry|0|docker|w|go|api:5 bulk:5|registry-1.docker.io index.docker.io production.cloudflare.docker.com
npm-registry|0.05|npm|w|node|api:6 bulk:4|registry.npmjs.org
unpkg|0.03|unpkg|l|web|tiny:5 bulk:5|unpkg.com
zoom|0.6|zoom|w|agent|rt:8 api:2|zoom.us us{6}web.zoom.us zoomcz{9}mmr.cloud.zoom.us
webex|0.2|webex|w|agent|rt:8 api:2|web.webex.com wdm-a.wbx2.com
accuweather|0.25|accuweather|l|mobile|api:10|api.accuweather.com dataservice.accuweather.com
the-weather-channel|0.2|weathercom|l|mobile|api:10|api.weather.com dsx.weather.com
chmi|0.2|chmi|l|web|api:5 bulk:5|www.chmi.cz hydro.chmi.cz
`

// anchors are the shares (percent) fixed by DATASET.md §4 (DA's per-day
// figures); the other apps of a category share what is left of its target.
var anchors = map[string]float64{
	"microsoft-diagnostic": 4.0,
	"microsoft-update":     2.6,
	"office365":            3.2,
	"teams":                3.0,
	"microsoft-settings":   2.4,
	"tiktok":               2.8,
	"google-ads":           2.2,
	"google-play":          0.8,
	"docker-registry":      0.15,
}

// categoryTarget is the category mix of September 2022 (DATASET.md §4, JW).
var categoryTarget = map[string]float64{
	"Advertising": 10.74, "Social": 10.08, "Media": 8.49, "Other services": 8.13,
	"Analytics & Telemetry": 8.12, "Antivirus": 7.54, "Other APIs": 6.45, "Authentication": 5.77,
	"Videoconferencing": 4.48, "Mail": 4.11, "File sharing": 3.87, "Search": 3.74,
	"Software updates": 3.15, "Location": 3.00, "Music": 2.90, "Notifications": 2.24,
	"Instant messaging": 2.07, "Games": 2.03, "Weather": 1.22, "Information systems": 1.20,
	"Internet banking": 0.49, "Remote desktop": 0.10, "Virtual assistant": 0.07,
}
