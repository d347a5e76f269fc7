"""Scam-risk rules: how fake airdrops steal, written from how the scams work, each with its risk.

A fake airdrop ends in one of two thefts: the victim signs a drainer's approval on a cloned claim
site ("connect your wallet"), or hands over a seed phrase / private key. The older giveaway scam asks
victims to send coins to "receive double back". Around these sit the delivery tricks: urgency to stop
the victim thinking, links that look like the brand or hide where they go, accounts that are new or
imitate an official one, and addresses to pay into. (Sources: wallet-drainer write-ups by
Scam Sniffer and Chainalysis; X's and wallet vendors' safety guides; the janitr labelling guide:
"seed phrase requests", "claim airdrop + wallet connect", "fake exchanges, wallet drainers".)

Each rule that fires is a `Reason` whose weight is risk; a tweet is flagged when the risk adds up to
`FLAG_THRESHOLD`. Theft mechanics alone (doubling, send-to-receive, seed phrase requests, a published
"honeypot" seed, recovery services, look-alike links, impersonation) reach it by themselves; softer
tells (urgency, a wallet-connect or signing prompt, a shortener, a new account, an address, reply-bait
for addresses, a fixed prize for every wallet, fake eligibility, a request to pay into an address, an
income pitch, a large prize for retweets, a free mint on an unknown site) only in combination, because
official posts use some of them. Rules that words of warning also use ("never reply with your address",
"if you're eligible") skip matches read as advice or a condition.
"""

from __future__ import annotations

import re
from datetime import timedelta

from impressox_pipelines.airdrops.links import (
    BRANDS,
    DOCS_PLATFORMS,
    HOSTING_PLATFORMS,
    X_HOSTS,
    Link,
    bait_domain,
    is_brand_domain,
    is_shortener,
    lookalike,
    misspelt_trust_word,
    page_kind,
    risky_suffix,
    tweet_id_of,
)
from impressox_pipelines.airdrops.models import Evidence, Reason
from impressox_pipelines.airdrops.signals import AIRDROP_LANGUAGE
from impressox_pipelines.airdrops.targets import TargetAccounts
from impressox_pipelines.airdrops.text import mixed_script_words
from impressox_pipelines.x.models import Tweet

FLAG_THRESHOLD = 1.0

_COIN = (r"(eth|btc|bitcoin|ethereum|sol|solana|bnb|usdt|usdc|xrp|doge|ada|trx|ton|crypto|coins?|tokens?"
         r"|money|funds|deposit|investment|holdings?)")
GIVEAWAY_DOUBLING = re.compile(
    r"\b(double|triple|2x|3x|5x|10x)\s+(your|ur|the|every|any)\s+(\w+\s+)?" + _COIN + r"\b"
    r"|\bsend\s+(\d+(\.\d+)?|any\s+amount|some|any)\b[^.!?\n]{0,60}?\b(get|receive|back|return)\s+"
    r"(\d|double|2x|twice|x2)"
    r"|\b(send|sent|give|pay)(ing)?\s+(it\s+)?back\s+(double|2x|twice|\d+x)\b"
    r"|\b(we|i)('ll|\s+will)\s+(send|return|give)\s+(you\s+)?(back\s+)?(double|2x|twice|\d+x)\b"
    r"|\bgiveaway\b[^\n]{0,100}\b(send|deposit|transfer)\b\s+(\d|any|some|your)"
    # The pay-in and the multiplied pay-out in one breath, whatever the wording of the pay-in:
    # "send your BTC and you'll receive double", "transfer any amount, get 2x back".
    r"|\b(send|transfer|deposit)\b[^.!?\n]{0,60}?\b(receive|get)\s+(it\s+)?(back\s+)?(double|twice|2x|x2|\d+x)\b"
)
# A post that tells readers to pay into an address it names: fake giveaways, fake "presales", fake
# donation drives. Soft alone (a charity may do it); with the address in the text it flags.
PAYMENT_REQUEST = re.compile(
    r"\b(send|transfer|deposit)\b(?:[^.!?\n]|\.(?=\d)){0,40}?\bto\s+(this|my|our|the\s+following|the\s+below)\s+"
    r"(wallet|address|account)\b"
)
SEND_TO_RECEIVE = re.compile(
    r"\b(send|transfer|deposit)\b(?:[^.!?\n]|\.(?=\d)){0,60}?\bto\s+(receive|get|claim|unlock|activate|qualify|verify"
    r"|validate|withdraw|participate|join|be\s+eligible)\b"
    r"|\b(pay|cover|send)\s+(the\s+|a\s+)?(small\s+)?(activation|unlock|unlocking|withdrawal|processing"
    r"|registration|verification|release|claim(ing)?)\s+fees?\b"
    r"|\b(activation|unlock|withdrawal|release|verification)\s+fee\b|\bminimum\s+(deposit|contribution)\b"
)
WALLET_CONNECT = re.compile(
    r"\b(connect|link|verify|validate|sync|synchroni[sz]e|rectify|authenticate|import|restore|migrate"
    r"|whitelist|secure|unlock)\s+(your\s+|ur\s+|the\s+|a\s+|my\s+)?(crypto\s+|web3\s+|defi\s+|evm\s+)?"
    r"(wallets?|metamask|trust\s*wallet|phantom|ledger|trezor|wallet\s+address)\b"
    r"|\bwallet\s+(connect(ion)?|verification|validation|sync(hroni[sz]ation)?|rectification|authentication)\b"
    r"|\bdapp\s+(validator|sync)"
    # Permit/approval drainers need one signature, so the prompt asks to sign rather than to connect.
    r"|\b(sign|approve)\s+(the\s+|a\s+|this\s+)?(message|transaction|tx|permit|approval|signature)\s+to\s+"
    r"(claim|receive|verify|get|unlock|confirm|activate|check)\b"
    r"|\bconnect\s+(to|with)\s+(the\s+|our\s+)?(dapp|claim\s+(portal|page|site)|portal)\b"
)
SEED_PHRASE = re.compile(
    r"\b(seed|recovery|secret|mnemonic|backup|wallet)\s+(phrases?|words?|keys?)\b|\bprivate\s+keys?\b"
    r"|\b(12|24)[\s-]*words?\b|\bpass\s?phrase\b|\bkeystore\b"
)
# A request names what to do with the secret; a story or a list of red flags only mentions it.
SECRET_REQUEST = re.compile(
    r"\b(enter|share|send|provide|input|submit|type|paste|import|give|verify|validate|sync|dm|confirm|restore"
    r"|drop|upload|fill\s+in|reply\s+with|tell\s+us|write\s+down\s+here)\b"
)
# Advice such as "never share your seed phrase" names the same words without asking for them.
SAFETY_ADVICE = re.compile(
    r"\b(never|don'?t|do\s+not|won'?t|will\s+not|no\s+one|nobody|not|avoid|beware|careful|warning|scam\w*)\b"
)
URGENCY = re.compile(
    r"\b(last\s+chance|hurry(\s+up)?|act\s+(now|fast|quickly)|before\s+it'?s\s+(too\s+)?late|(don'?t|do\s+not)\s+miss"
    r"(\s+out)?|ends?\s+(soon|today|tonight)|ending\s+soon|closing\s+soon|(only|just)\s+\d+\s*(hours?|hrs?|h"
    r"|minutes?|mins?|spots?|slots?|left|remaining|users?|wallets?)\b|first\s+\d+\s*(users?|people|wallets?"
    r"|participants?|claimers?|holders?)|limited\s+(time|spots?|slots?|supply|offer)|expires?\s+(soon|today"
    r"|in\s+\d)|final\s+(call|hours?|chance)|right\s+now|immediately|asap|urgent(ly)?|quickly|while\s+(it|they"
    r"|supplies|stocks?)\s+lasts?|going\s+fast|time\s+is\s+running\s+out|now\s+or\s+never"
    r"|first\s+come,?\s+first\s+serve[d]?|don'?t\s+sleep\s+on|before\s+it\s+expires"
    r"|(open|live|available|valid)\s+(only\s+)?for\s+(the\s+next\s+|just\s+)?\d+\s*(hours?|hrs?|h|minutes?|mins?))\b"
)
OFF_PLATFORM = re.compile(
    r"\b(dm|inbox|pm|message|text|contact|whatsapp|telegram)\s+(me|us|admin|support|the\s+admin)\b"
    r"|\b(send|drop)\s+(us|me)\s+a\s+(private\s+|direct\s+)?(message|dm)\b"
    # The claim itself moved to a private chat, where a fake "support" asks for the seed or sends a drainer.
    r"|\b(dm|pm|inbox)\s+(for\s+(the\s+|your\s+)?(claim|link|airdrop|whitelist|allocation)"
    r"|to\s+(claim|receive|get\s+(the\s+|your\s+)?(link|tokens?|airdrop)))\b"
    # The same move in other words: "shoot me a DM", "hit us up in DMs", "details via DM".
    r"|\b(shoot|hit|slide\s+into)\s+(me|us|my|our)\s+(up\s+)?(a\s+|in\s+)?(dm|dms|inbox|message)\b"
    r"|\b(details|info|more)\s+(via|in|by|over)\s+(dm|dms|inbox|pm)\b"
)
# Recovery scams prey on victims of the first theft: "lost funds? contact a verified professional".
RECOVERY_SERVICE = re.compile(
    r"\b(recover|retrieve|get\s+back|trace)\s+(your\s+|my\s+|the\s+)?(lost\s+|stolen\s+|scammed\s+)?"
    r"(funds|crypto|assets|money|coins|wallet|loss(es)?)\b"
    # Key "recovery" asks for the words the victim still remembers, which is all the thief needs.
    r"|\b(private\s+keys?|seed\s+phrase|wallet)\s+recovery\b"
    r"|\bcontact\s+(a\s+|the\s+)?(verified\s+|certified\s+|trusted\s+)?(professional|expert|agent|recovery|hacker)"
    r"|#?\bcrypto\s*recovery\b"
    # The pitch usually ends in a DM: "DM for recovery assistance", "reach out via DM for RECOVERY SERVICE".
    r"|\b(dm|inbox|message|contact|reach\s+out)\b[^.!?\n]{0,40}?\bfor\s+([\w,]+\s+){0,3}recovery\b"
    r"|\bdm\b[^.!?\n]{0,40}\b(funds|withdrawals?|assets)\s+(are\s+|is\s+)?(stuck|frozen|blocked)\b"
    r"|\bdm\b[^.!?\n]{0,20}\bhelp\s+with\s+(stuck|frozen|blocked)\b"
    r"|\b(helped|help)\s+(me|us|you)\s+(get|recover)\s+(everything|it\s+all|my\s+\w+|all)\s*(back)?\b"
)
# Shill bots vouch for the claim site: "claimed mine", "wallet checked", "100% real", "official link".
FALSE_ASSURANCE = re.compile(
    r"\b(just\s+|finally\s+)?(claimed|received|got)\s+(mine|my\s+(airdrop|tokens?|drop|allocation)|it|\$\w+)\b"
    r"|\b(100%|totally|fully)\s+(real|legit|safe|working)|\b(it'?s|is)\s+(real|legit)\b"
    r"|\b(wallet|wallets)\s+(checked|confirmed|confirming|verified)|\b(checked|confirmed)\s+(mine|my\s+wallet)"
    r"|\bofficial\s+(link|site|website|claim(\s+page)?)\b|\b(paid|pays)\s+off\b|\bthanks?\s+to\s+the\s+dev\b"
    r"|\bsuccessful\s+claims?\b"
)
# The fake-claim call to action: "claim now", "airdrop is live", "grab your allocation", "tap to get".
CLAIM_CALL_TO_ACTION = re.compile(
    r"\bclaim(ing|s)?\s+(is\s+|are\s+)?(now\s+)?(live|open|active)\b"
    r"|\b(claim|grab|get|collect|snag|secure)\s+(yours|your\s+(free\s+)?(\$?\w+\s+)?(airdrop|tokens?|allocation"
    r"|rewards?|drop|nft|spot)|it\s+now|now|here|quickly|fast|instantly)\b"
    r"|\b(air\s?drop|drop|claim|mint)\s+(is\s+)?(now\s+|officially\s+)?(live|open|active|started|released|running)\b"
    r"|\b(tap|click|press)\s+(here\s+|below\s+|the\s+link\s+)?to\s+(get|claim|secure|grab|collect|receive|check)"
    r"|\bcheck\s+your\s+wallet|\bready\s+to\s+claim\b|\b(quick|easy|instant|fast)\s+claim\b"
)
# A referral link promotes an app for a commission; a fake claim site needs no referral code.
REFERRAL_PATH = re.compile(r"(^|/)(join|ref|referral|invite|r|i)/\w+|[?&](ref|code|invite|referral|inviter)=", re.I)
# Chat apps where a claim "bot" or "admin" takes over, out of sight of the platform's moderation.
CHAT_APP_DOMAINS = frozenset({"t.me", "telegram.me", "telegram.dog", "wa.me", "whatsapp.com", "discord.gg"})
# Reply-bait: a public reply ties the X account to a wallet, and the harvested list gets dusting,
# poisoned look-alike addresses and "you won, claim here" drainer DMs. Real token airdrops snapshot
# on-chain; they never collect addresses in replies.
ADDRESS_SOLICITATION = re.compile(
    r"\b(drop|reply|comment|comments|post|share|send|leave|paste|put|write|type)\s+(with\s+|me\s+|in\s+)?"
    r"(your\s+|ur\s+|the\s+)?([#$]?\w+\s+(or\s+[#$]?\w+\s+)?)?(wallets?|address(es)?|addy|addie|addr)\b"
)
# Follow/retweet/tag demands in exchange for a reward: follower farming, and the repliers become targets.
ENGAGEMENT_BAIT = re.compile(
    r"\b(rt|retweet|repost|follow|like|tag\s+\d+|tag\s+(your\s+)?friends)\b[^\n]{0,40}\b(rt|retweet|repost|follow|like"
    r"|tag|comment|to\s+enter|to\s+win)\b"
)
TOO_GOOD = re.compile(
    r"\b(guaranteed|risk[\s-]?free|100%\s+(free|safe|legit|guaranteed)|no\s+risk|free\s+money"
    r"|instant(ly)?\s+(profit|payout|bonus|reward|withdraw\w*))\b"
    # Money for nothing, named as money: "FREE 0.4 BTC", "500 USDT free", "free crypto".
    r"|\bfree\s+([\d,.]+\s*k?\s*)?\$?(btc|bitcoin|eth|ether|sol|usdt|usdc|bnb|crypto|money|cash)\b"
    r"|\b[\d,.]+\s*k?\s*\$?(btc|bitcoin|eth|sol|usdt|usdc|bnb)\s+(for\s+)?free\b"
)
# The "leaked seed" honeypot: a post publishes the words of a wallet that holds tokens but no gas. A
# victim who imports it sends gas to move the tokens, and the owner's sweeper bot takes the gas the
# moment it lands. Spotted by the phrase itself (12-24 plain words after "seed phrase:") or by a
# "seed phrase giveaway".
SEED_PHRASE_BAIT = re.compile(
    r"\b(seed|recovery|secret|mnemonic)\s+(phrase|words?)\s*[:=\-]?\s*(?:[a-z]{3,8}[\s,]+){11,23}[a-z]{3,8}\b"
    r"|\b(12|24)\s+words?\s*[:=\-]\s*(?:[a-z]{3,8}[\s,]+){11,23}[a-z]{3,8}\b"
    r"|\b(seed\s+phrase|private\s+key|wallet\s+keys?)\s+giveaway\b"
    r"|\bgiv(e|ing)\s+away\s+(my\s+|a\s+|the\s+|this\s+)?(wallet'?s?\s+)?(seed\s+phrase|private\s+key)"
)
# A fixed prize for every taker, or for the first N addresses: the pitch of address-harvesting and
# drainer "airdrops". A real distribution names its eligibility rules, not "every wallet gets 1 SOL".
MASS_PAYOUT = re.compile(
    r"\b(every|each)\s+(wallet|address|participant|follower|user|person|commenter|one)s?\s+"
    r"(gets?|will\s+(get|receive)|receives?|=)\s"
    r"|\bfree\s+for\s+(everyone|every\s+one|all\s+(users|participants|wallets|followers|holders))\b"
    r"|\bfirst\s+[\d,.]+\s*k?\s+((\$?\w+\s+)?(address(es)?|wallets?|people|participants|commenters|users)\s*)?"
    r"(=|gets?\b|will\s+(get|receive)|receive)"
    r"|\bfor\s+(the\s+)?[\d,.]+\s*k?\s+fastest\b"
)
# Fake eligibility: drainer pages widen the criteria so every reader believes money is waiting ("any
# interaction counts, even if you did it just once"), tell the reader personally ("your wallet is
# eligible", "you have unclaimed rewards", "you have won"), or whisper that a project is "quietly"
# paying, which explains why its official channels say nothing.
ELIGIBILITY_BAIT = re.compile(
    r"\beven\s+if\s+(you|it)\s+(\w+\s+){0,4}(just\s+|only\s+)?once\b"
    r"|\b(anyone|any\s+wallet|every\s+wallet|any\s+address|all\s+wallets)\s+(who|that|which)\s+(has\s+|have\s+)?ever\b"
    r"|\byou\s+have\s+(an?\s+)?(unclaimed|pending|uncollected)\b"
    r"|\b(your\s+(wallet|address)\s+(is|has\s+been)|you('re|\s+are|\s+have\s+been))\s+(now\s+)?"
    r"(eligible|qualified|whitelisted|selected|chosen|rewarded)\b(?!\s+(if|when|only|for\s+\w+\s+if))"
    r"|\b(you('ve|\s+have)|your\s+(wallet|address)\s+has)\s+(just\s+)?won\b"
    r"|\b(quietly|silently|secretly)\s+(rewarding|paying|airdropping|dropping|distributing|giving|hooking\s+up)\b"
)
# "Free mint" is the lure of drainer mint sites: the "mint" transaction is a setApprovalForAll or a
# permit that empties the wallet. Counted only beside a link to a domain of no known brand.
FREE_MINT = re.compile(
    r"\bfree\s+(nft\s+)?mints?\b|\bmint\s+(is\s+|for\s+)?free\b|\bmint\s+price\s*[:=\-]?\s*(free|\$?0)\b"
    r"|\bfree\s+nfts?\b"
)
# Link rules need bait talk around the link: the drainer's page is sold as an airdrop or a claim, and
# just as often as a giveaway, a free mint, a whitelist or an eligibility/allocation check. ("Rewards"
# alone is left out: every exchange and casino promo says it.)
BAIT_LANGUAGE = re.compile(
    AIRDROP_LANGUAGE.pattern
    + r"|#\w*airdrop\w*|\b(give\s?aways?|whitelist|eligib(le|ility)|allocations?)\b|" + FREE_MINT.pattern
)
# What a harvested address is promised: tokens (an airdrop, a claim, a coin giveaway). A whitelist or
# NFT raffle needs the address for its allowlist, so those stay at the plain solicitation weight.
TOKEN_PROMISE = re.compile(
    AIRDROP_LANGUAGE.pattern + r"|#\w*airdrop\w*"
    r"|\$?\b(sol|eth|btc|usdt|usdc|bnb|crypto|token|coin)s?\s+give\s?aways?\b|\$[\d,.]+\s*k?\s+give\s?aways?\b"
)
# The money-making pitch that funnels readers to a private chat, a "VIP" signal group or a platform:
# passive income, returns ("+277% profits", "making me $5k/month", "97% accuracy"), cloud mining.
# What follows is a paid group, a fake trading or mining platform, or a "claim your earnings" page that
# asks for a deposit first. Soft alone (an ETF or a staking post can name returns); with a DM request,
# a chat link or other tells it flags. ("$20/month" alone is a price: amounts count after earn/make.)
INCOME_PITCH = re.compile(
    r"\bpassive\s+income\b|\bvip\s+(group|channel|signals?|access|membership)\b"
    r"|\b(crypto|trading|free|premium|futures)\s+signals\b"
    # A signal seller's accuracy claim, or returns no yield pays (50% and up; a 6% APY is ordinary).
    r"|\b\d+\s?%\s+(accuracy|win\s*rate)\b|\b([5-9]\d|\d{3,})(,\d{3})*\s?%\s+(profits?|gains|returns?|roi)\b"
    r"|\b(daily|weekly|monthly)\s+(crypto\s+)?(profits?|returns?|income|earnings|payouts?)\b"
    r"|\bcloud\s+mining\b|\bmine\s+[\d.]+\s+\$?(btc|eth|bitcoin|ethereum|doge)\b"
    r"|\b(earn|earning|make|making)\s+(me\s+|you\s+|us\s+)?(up\s+to\s+)?\$\s?[\d,.]+\s*k?\b"
)
# A coin or cash prize from a stranger, paid for follows and retweets. The account farms engagement;
# the "winners" later get a DM asking for a "release fee" or a wallet connection to receive the prize.
# Small community giveaways ("$15 giveaway") are common and real, so only a sum no stranger gives away
# for a retweet counts (about $1,000 or more, see `_large_prize`).
_PRIZE_AMOUNT = (r"(\$\s?(?P<usd>\d[\d,]*(\.\d+)?)\s*(?P<scale>k|m)?\b"
                 r"|(?P<coins>\d+(\.\d+)?)\s*\$?(?P<coin>btc|bitcoin|eth|ether|sol|bnb|usdt|usdc)\b)")
PRIZE_OFFER = re.compile(
    r"(?P<a>" + _PRIZE_AMOUNT + r")(\s+(in|of|worth\s+of)\s+\$?\w+)?\s+give\s?aways?\b"
    r"|\b(giving\s+away|give\s+away|send(ing)?|drop(ping)?|airdrop(ping)?|gift(ing)?)\s+(away\s+)?(?P<b>"
    + _PRIZE_AMOUNT.replace("?P<", "?P<b_") + r")"
)
# Roughly $1,000 in each coin at 2025-26 prices; stablecoins count as dollars.
_LARGE_PRIZE_COINS = {"btc": 0.01, "bitcoin": 0.01, "eth": 0.3, "ether": 0.3, "sol": 5.0, "bnb": 1.0,
                      "usdt": 1000.0, "usdc": 1000.0}
WALLET_ADDRESS = re.compile(
    r"\b0x[a-fA-F0-9]{40}\b"  # EVM
    r"|\b(bc1[ac-hj-np-z02-9]{25,59}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})\b"  # Bitcoin (bech32, base58)
    r"|\bT[1-9A-HJ-NP-Za-km-z]{33}\b"  # TRON
    r"|\b[1-9A-HJ-NP-Za-km-z]{32,44}\b"  # Solana (base58, 32-44 chars)
)

W_DOUBLING = 1.0
W_RECOVERY = 1.0
W_SEND_TO_RECEIVE = 1.0
W_SEED_PHRASE = 1.0
W_LOOKALIKE = 1.0
W_IMPERSONATION = 1.0
W_WALLET_CONNECT = 0.6
W_BAIT_DOMAIN = 0.6
W_MISSPELT_DOMAIN = 0.6
W_SHORTENER = 0.5
W_NEW_ACCOUNT = 0.5
W_WALLET_ADDRESS = 0.5
W_OFF_PLATFORM = 0.5
W_MIXED_SCRIPT = 0.5
W_URGENCY = 0.4
W_TICKER_STUFFING = 0.6
W_FALSE_ASSURANCE = 0.5
W_CLAIM_CTA = 0.4
W_UNOFFICIAL_CLAIM_PUSHED = 0.6
W_UNOFFICIAL_CLAIM_PAGE = 0.8
W_TOO_GOOD = 0.4
W_UNOFFICIAL_CLAIM_LINK = 0.4
W_RISKY_TLD = 0.3
W_FEW_FOLLOWERS = 0.3
W_ADDRESS_SOLICITATION = 0.5
# Collecting addresses under a post that promises tokens is the harvest itself, not a contest rule.
W_ADDRESS_HARVEST = 0.7
W_SEED_PHRASE_BAIT = 1.0
W_MASS_PAYOUT = 0.5
W_PAYMENT_REQUEST = 0.5
W_ELIGIBILITY_BAIT = 0.4
W_ENGAGEMENT_BAIT = 0.3
W_INCOME_PITCH = 0.5
# With `engagement_bait` (0.3) it flags: a large prize for retweets is the fake-giveaway pitch itself.
W_PRIZE_FOR_ENGAGEMENT = 0.7
W_FREE_MINT_LURE = 0.3
NEW_ACCOUNT_AGE = timedelta(days=30)
# Bot networks append trending tickers so a fake claim shows up in each ticker's search.
STUFFED_CASHTAGS = 4
FEW_FOLLOWERS = 100


def _quote(match: re.Match[str]) -> str:
    return repr(" ".join(match.group(0).split())[:80])


def _advice(text: str, match: re.Match[str]) -> bool:
    """Whether the words just before `match`, in its sentence, make it advice ("never share …")."""
    before = re.split(r"[.!?\n•]", text[max(0, match.start() - 60):match.start()])[-1]
    return bool(SAFETY_ADVICE.search(before))


def _requested(text: str, match: re.Match[str]) -> bool:
    """Whether a request verb comes shortly before `match` in its sentence ("enter your seed phrase")."""
    before = re.split(r"[.!?\n•]", text[max(0, match.start() - 40):match.start()])[-1]
    return bool(SECRET_REQUEST.search(before))


_CONDITION = re.compile(r"\b(if|whether|when|unless|once|see|check)\s+$")


def _conditional(text: str, match: re.Match[str]) -> bool:
    """Whether `match` is a condition or a question ("if you're eligible", "check whether you are …")."""
    return bool(_CONDITION.search(text[max(0, match.start() - 12):match.start()]))


def _large_prize(text: str) -> re.Match[str] | None:
    """The first prize offer ("$10,000 giveaway", "send 1 $BTC") worth about $1,000 or more."""
    for match in PRIZE_OFFER.finditer(text):
        group = match.groupdict()
        usd, scale, coins, coin = (group["usd"], group["scale"], group["coins"], group["coin"]) if match["a"] \
            else (group["b_usd"], group["b_scale"], group["b_coins"], group["b_coin"])
        if usd:
            value = float(usd.replace(",", "") or 0) * {"k": 1e3, "m": 1e6}.get(scale or "", 1)
            if value >= 1000:
                return match
        elif coins and float(coins) >= _LARGE_PRIZE_COINS[coin]:
            return match
    return None


# A word holding a link; `(?<!\S)` starts matches only at word starts, so a long word is scanned once.
_LINK_WORD = re.compile(r"(?<!\S)\S*(https?://|www\.)\S*")


def _addresses(folded: str) -> list[str]:
    found = []
    for match in WALLET_ADDRESS.finditer(_LINK_WORD.sub(" ", folded)):
        token = match.group(0)
        # A base58 run without digits or without both cases is a long word, not an address.
        if token.startswith("0x") or (re.search(r"\d", token) and re.search(r"[a-z]", token)
                                      and re.search(r"[A-Z]", token)) or token.startswith("bc1"):
            found.append(token)
    return found


def _unofficial(link: Link, brands: frozenset[str]) -> bool:
    """A link that is not a tweet, a brand's own domain, a docs/hosting platform or a referral link."""
    if tweet_id_of(link) or link.host in X_HOSTS or REFERRAL_PATH.search(link.path + "?" + link.key.partition("?")[2]):
        return False
    if link.registered_domain in HOSTING_PLATFORMS or link.registered_domain in DOCS_PLATFORMS:
        return False
    return not is_brand_domain(link, brands)


def _account_reasons(tweet: Tweet, targets: TargetAccounts, role: str) -> list[Reason]:
    reasons = []
    imitated = targets.resembles(tweet.author_handle or "", tweet.author_name or "")
    if imitated:
        reasons.append(Reason("impersonation", W_IMPERSONATION,
                              f"{role} @{tweet.author_handle} ({tweet.author_name!r}) imitates target @{imitated}"))
    if tweet.author_created_at and tweet.created_at and tweet.author_handle not in targets:
        age = tweet.created_at - tweet.author_created_at
        if timedelta(0) <= age < NEW_ACCOUNT_AGE:
            reasons.append(Reason("new_account", W_NEW_ACCOUNT,
                                  f"{role} @{tweet.author_handle} was created {age.days} days before posting"))
    if tweet.author_followers_count is not None and tweet.author_followers_count < FEW_FOLLOWERS \
            and tweet.author_handle not in targets:
        reasons.append(Reason("few_followers", W_FEW_FOLLOWERS,
                              f"{role} @{tweet.author_handle} has {tweet.author_followers_count} followers"))
    return reasons


def _link_reasons(links: tuple[Link, ...], brands: frozenset[str]) -> list[Reason]:
    reasons: dict[str, Reason] = {}
    for link in links:
        if tweet_id_of(link):
            continue
        why = lookalike(link, brands)
        if why and "lookalike_link" not in reasons:
            reasons["lookalike_link"] = Reason("lookalike_link", W_LOOKALIKE, why)
        bait = bait_domain(link)
        if bait and not why and "bait_domain" not in reasons:
            reasons["bait_domain"] = Reason(
                "bait_domain", W_BAIT_DOMAIN, f"{link.registered_domain} is named after the bait word {bait!r}"
            )
        misspelt = misspelt_trust_word(link) if not is_brand_domain(link, brands) else None
        if misspelt and not why and "misspelt_domain" not in reasons:
            reasons["misspelt_domain"] = Reason(
                "misspelt_domain", W_MISSPELT_DOMAIN, f"{link.registered_domain} misspells {misspelt!r}"
            )
        if is_shortener(link) and "shortened_link" not in reasons:
            reasons["shortened_link"] = Reason(
                "shortened_link", W_SHORTENER, f"{link.key} hides its destination behind a URL shortener"
            )
        if risky_suffix(link) and not is_brand_domain(link, brands) and "risky_tld" not in reasons:
            reasons["risky_tld"] = Reason(
                "risky_tld", W_RISKY_TLD, f"{link.registered_domain} uses .{link.suffix}, a top phishing TLD"
            )
    return list(reasons.values())


def scam_reasons(
    evidence: Evidence, tweet: Tweet, original: Tweet | None, targets: TargetAccounts, cashtags: list[str],
    brands: frozenset[str] = BRANDS,
) -> list[Reason]:
    """Every scam rule that fires for the tweet read with its original (weight = risk; 0 = noted only)."""
    text = evidence.text
    reasons: list[Reason] = []

    def rule(signal: str, weight: float, pattern: re.Pattern[str], label: str, *, asserted: bool = False) -> None:
        # `asserted`: skip matches that are advice ("never …", "scammers say …") or conditions ("if you're …").
        match = next((m for m in pattern.finditer(text)
                      if not (asserted and (_advice(text, m) or _conditional(text, m)))), None)
        if match:
            reasons.append(Reason(signal, weight, f"{label}: {_quote(match)}{evidence.where(pattern)}"))

    rule("giveaway_doubling", W_DOUBLING, GIVEAWAY_DOUBLING, "promises to send back more than you send")
    rule("send_to_receive", W_SEND_TO_RECEIVE, SEND_TO_RECEIVE, "asks for a payment or deposit before you receive")
    connects = [m for m in WALLET_CONNECT.finditer(text) if not _advice(text, m)]
    if connects:
        reasons.append(Reason("wallet_connect_request", W_WALLET_CONNECT,
                              f"asks to connect or verify a wallet: {_quote(connects[0])}"))
    requests = [m for m in SEED_PHRASE.finditer(text) if _requested(text, m) and not _advice(text, m)]
    if requests:
        reasons.append(Reason("seed_phrase_request", W_SEED_PHRASE,
                              f"asks for wallet secrets: {_quote(requests[0])}"))
    elif SEED_PHRASE.search(text):
        reasons.append(Reason("seed_phrase_mention", 0.0,
                              "mentions wallet secrets without asking for them (advice or a story; not counted)"))
    rule("urgency_bait", W_URGENCY, URGENCY, "urgency bait")
    rule("off_platform_contact", W_OFF_PLATFORM, OFF_PLATFORM, "moves the claim to DMs or another app")
    chat_link = next((lk for lk in evidence.links if lk.registered_domain in CHAT_APP_DOMAINS), None)
    # A Telegram "VIP group" link under an income pitch is the same move as one under a claim.
    if chat_link and (BAIT_LANGUAGE.search(text) or INCOME_PITCH.search(text)) \
            and not any(r.signal == "off_platform_contact" for r in reasons):
        reasons.append(Reason("off_platform_contact", W_OFF_PLATFORM,
                              f"moves the claim to another app: {chat_link.key}"))
    harvest = TOKEN_PROMISE.search(text)
    if harvest:
        rule("address_solicitation", W_ADDRESS_HARVEST, ADDRESS_SOLICITATION,
             f"collects wallet addresses in replies under a promise of tokens ({_quote(harvest)})", asserted=True)
    else:
        rule("address_solicitation", W_ADDRESS_SOLICITATION, ADDRESS_SOLICITATION,
             "collects wallet addresses in replies", asserted=True)
    rule("seed_phrase_bait", W_SEED_PHRASE_BAIT, SEED_PHRASE_BAIT,
         "publishes a wallet's secret words, the gas-sweeper honeypot", asserted=True)
    rule("payment_request", W_PAYMENT_REQUEST, PAYMENT_REQUEST, "asks readers to pay into an address", asserted=True)
    rule("mass_payout", W_MASS_PAYOUT, MASS_PAYOUT, "promises a fixed prize to every wallet or the first N",
         asserted=True)
    rule("eligibility_bait", W_ELIGIBILITY_BAIT, ELIGIBILITY_BAIT, "tells every reader they qualify", asserted=True)
    rule("engagement_bait", W_ENGAGEMENT_BAIT, ENGAGEMENT_BAIT, "trades the reward for follows and retweets")
    # A target account's own campaign pays what it promises; the rule is about strangers' prizes.
    prize = (_large_prize(text) if any(r.signal == "engagement_bait" for r in reasons)
             and tweet.author_handle not in targets else None)
    if prize and not (_advice(text, prize) or _conditional(text, prize)):
        reasons.append(Reason("prize_for_engagement", W_PRIZE_FOR_ENGAGEMENT,
                              f"offers a large coin or cash prize for follows and retweets: {_quote(prize)}"))
    rule("income_pitch", W_INCOME_PITCH, INCOME_PITCH, "pitches income or returns", asserted=True)
    rule("too_good_to_be_true", W_TOO_GOOD, TOO_GOOD, "promises risk-free or guaranteed money")
    rule("recovery_service", W_RECOVERY, RECOVERY_SERVICE, "offers to recover lost funds")
    rule("false_assurance", W_FALSE_ASSURANCE, FALSE_ASSURANCE, "vouches for the claim like a shill")
    rule("claim_call_to_action", W_CLAIM_CTA, CLAIM_CALL_TO_ACTION, "pushes to claim now")
    if len(cashtags) >= STUFFED_CASHTAGS:
        reasons.append(Reason("ticker_stuffing", W_TICKER_STUFFING,
                              f"{len(cashtags)} tickers appended to ride their searches: "
                              + " ".join(f"${t}" for t in cashtags[:6])))
    addresses = _addresses(evidence.folded)
    if addresses:
        reasons.append(Reason("wallet_address", W_WALLET_ADDRESS,
                              f"wallet address in the text: {addresses[0][:12]}…"))
    # From the raw text: the normalized forms have the look-alike letters mapped to Latin already.
    mixed = mixed_script_words(evidence.raw)
    if mixed:
        reasons.append(Reason("mixed_script", W_MIXED_SCRIPT,
                              f"words spelled with look-alike letters from other scripts: {', '.join(mixed[:3])}"))
    reasons += _link_reasons(evidence.links, brands)
    # Links a target account posted are official; a quote adds only the links it carries itself.
    own_only = original is not None and original.author_handle in targets
    unofficial = [lk for lk in evidence.links if _unofficial(lk, brands)
                  and (not own_only or lk.key in evidence.own_link_keys)]
    if unofficial and BAIT_LANGUAGE.search(text) and tweet.author_handle not in targets:
        claim_page = next((lk for lk in unofficial if page_kind(lk) == "claim"), None)
        pushed = CLAIM_CALL_TO_ACTION.search(text)
        link = claim_page or unofficial[0]
        weight = (W_UNOFFICIAL_CLAIM_PAGE if claim_page
                  else W_UNOFFICIAL_CLAIM_PUSHED if pushed else W_UNOFFICIAL_CLAIM_LINK)
        reasons.append(Reason(
            "unofficial_claim_link", weight,
            f"{'claim page' if claim_page else 'link'} {link.key} on a domain of no known brand, posted with "
            f"airdrop/claim/giveaway talk by @{tweet.author_handle or '?'}, not a target account",
        ))
    # A chat invite is not where the mint happens; `off_platform_contact` covers it.
    mint_site = next((lk for lk in unofficial if lk.registered_domain not in CHAT_APP_DOMAINS), None)
    if mint_site and tweet.author_handle not in targets:
        rule("free_mint_lure", W_FREE_MINT_LURE, FREE_MINT,
             f"sells a link to {mint_site.registered_domain}, a domain of no known brand, as a free mint",
             asserted=True)
    reasons += _account_reasons(tweet, targets, "author")
    if original is not None:
        reasons += [r for r in _account_reasons(original, targets, "quoted author")
                    if r.signal == "impersonation"]
    return reasons
