# bash completion for jpki(1): command groups, subcommands, options (one
# already given is not offered again: jpki refuses a valued one twice),
# and option values (files, directories, the words --type and friends
# accept).  Installed as share/bash-completion/completions/jpki; or source
# it from ~/.bashrc.  Needs nothing but bash 4.

_jpki_groups="init resident ca cert crl ocsp serve signer signer-tls sign verify login kiosk rp audit store card counter clerk help"

declare -A _jpki_subcommands=(
	[resident]="add import show list change"
	[ca]="show export issue rollover renew-responders"
	[cert]="show list revoke"
	[crl]="generate"
	[ocsp]="respond presign"
	[rp]="link"
	[audit]="verify list checkpoint"
	[signer-tls]="init issue-client"
	[store]="migrate copy"
	[card]="new status certs change-pin info face sign attach"
	[counter]="deliver issue renew report-lost reissue reset-pin update-card recover links receipt proxy-apply proxy-complete notices form-show serve"
	[clerk]="add passwd disable list"
)

# The options of each command besides --data, --json and --help (which
# every command but serve and card attach takes; see _jpki_common).
_jpki_visit="--clerk --id-doc --id-number --receipt-pdf"
_jpki_proxy="--proxy-name --proxy-id-type --proxy-id-number"
declare -A _jpki_options=(
	[init]="--municipality --key-bits --production-policy --base-url --database --pkcs11 --token --pin-file"
	[resident add]="--number --name --address --birth --gender --kana --municipality --name-flags --address-flags --clerk"
	[resident import]="--clerk"
	[resident show]=""
	[resident list]=""
	[resident change]="--name --address --birth --gender --kana --deceased --moved-away --clerk"
	[ca show]=""
	[ca export]="--out"
	[ca issue]="--resident --type --pubkey --card-expiry --out --actor"
	[ca rollover]="--type --actor --keys --local"
	[ca renew-responders]="--type --days --actor"
	[cert show]="--pem"
	[cert list]="--resident"
	[cert revoke]="--reason --actor"
	[crl generate]="--type --shard --full --out"
	[ocsp respond]="--in --out"
	[serve]="--listen --access-log --crl-delay --no-crl --no-presign --rp --kiosk --origin --user"
	[signer]="--listen --keys --state --user --checkpoint-every --no-sandbox"
	[signer-tls init]="--names --state"
	[signer-tls issue-client]="--name --out --state"
	[sign]="--card --reader --in --out --detached --pdf"
	[verify]="--content --at --anchors --offline"
	[login]="--card --reader --url --origin --token-out --dry-run"
	[kiosk]="--card --reader --token --url --document --out --receipt --token-out"
	[rp link]="--actor"
	[ocsp presign]="--threads"
	[audit verify]="--checkpoint --checkpoint-key"
	[audit checkpoint]=""
	[audit list]="--after --limit"
	[store migrate]=""
	[store copy]="--from --to"
	[card new]="--out --kind"
	[card status]="--card --reader"
	[card certs]="--out --sign --card --reader"
	[card change-pin]="--type --card --reader"
	[card info]="--card --reader"
	[card face]="--out --card --reader"
	[card sign]="--type --in --out --card --reader"
	[card attach]="--card --vpcd"
	[counter deliver]="--resident --out --reader --no-sign --no-auth --photo $_jpki_visit"
	[counter issue]="--card --reader --type $_jpki_visit"
	[counter renew]="--card --reader --type $_jpki_visit"
	[counter report-lost]="--card --reader --resident $_jpki_visit"
	[counter reissue]="--resident --out --reader --no-sign --no-auth --photo $_jpki_visit"
	[counter reset-pin]="--card --reader --type $_jpki_visit"
	[counter update-card]="--card --reader --photo $_jpki_visit"
	[counter recover]="--card --reader"
	[counter links]="--serial"
	[counter receipt]="--number --out --json"
	[counter proxy-apply]="--resident --purpose --type --pin $_jpki_proxy --out --clerk"
	[counter proxy-complete]="--form --card --reader --purpose $_jpki_proxy --clerk"
	[counter notices]="--within --out --clerk --no-progress"
	[counter form-show]=""
	[counter serve]="--listen --tls-cert --tls-key --web --idle-timeout"
	[clerk add]="--role --actor"
	[clerk passwd]="--actor"
	[clerk disable]="--actor"
	[clerk list]=""
)

# Options that take no value.
_jpki_flags=" --json --help --sign --full --pem --production-policy --deceased --no-sign --no-auth --no-progress --no-crl --no-sandbox --no-presign --rp --kiosk --moved-away --detached --pdf --offline --dry-run --local "

# The common options a command takes.
_jpki_common() {
	case $1 in
	serve | "counter serve" | signer | "signer-tls init" | "signer-tls issue-client") echo "--data --help" ;;
	"card attach") echo "--help" ;;
	"card status" | "card info" | "card certs" | "card change-pin" | "card sign" | sign | login | kiosk)
		echo "--json --help" ;;
	*) echo "--data --json --help" ;;
	esac
}

# _jpki_values COMMAND OPTION: what OPTION's value can be: "file", "dir",
# or the words it accepts (nothing for free text).
_jpki_values() {
	case $2 in
	--data) echo dir ;;
	--out)
		case $1 in
		"ca export" | "card certs" | "card face" | "crl generate" | "counter notices" | "signer-tls issue-client") echo dir ;;
		*) echo file ;;
		esac ;;
	--in | --card | --pubkey | --photo | --pkcs11 | --pin-file | --tls-cert | --tls-key | --checkpoint | --checkpoint-key | --content | --anchors | --token-out | --token | --receipt) echo file ;;
	--web | --keys | --state) echo dir ;;
	--role) echo clerk supervisor admin ;;
	--type)
		case $1 in
		"counter issue" | "counter renew" | "counter proxy-apply") echo sign auth both ;;
		"counter reset-pin" | "card change-pin") echo sign auth cardinfo ;;
		*) echo sign auth ;;
		esac ;;
	--pin) echo sign auth cardinfo ;;
	--document) echo residence ;;
	--kind) echo mynumber juki ;;
	--gender) echo male female unknown ;;
	--purpose) echo issue renew reset-pin ;;
	--within) echo 1m 2m 3m 30d 90d ;;
	--reason) echo keyCompromise affiliationChanged superseded cessationOfOperation \
		cACompromise certificateHold privilegeWithdrawn unspecified ;;
	esac
}

# _jpki_reply KIND-OR-WORDS CUR: COMPREPLY from files, directories or words.
_jpki_reply() {
	case $1 in
	file | dir)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen "-${1:0:1}" -- "$2") ;;
	*) mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2") ;;
	esac
}

_jpki() {
	local cur=${COMP_WORDS[COMP_CWORD]} i=1 word group="" sub="" command
	local given=" " opt="" candidates
	COMPREPLY=()

	# The common options before the command.
	while [ "$i" -lt "$COMP_CWORD" ]; do
		word=${COMP_WORDS[i]}
		case $word in
		--data) given+="--data "; i=$((i + 2)); [ "${COMP_WORDS[i - 1]}" = "=" ] && i=$((i + 1)) ;;
		--data=*) given+="--data "; i=$((i + 1)) ;;
		--json) given+="--json "; i=$((i + 1)) ;;
		*) break ;;
		esac
	done
	if [ "$i" -gt "$COMP_CWORD" ]; then     # the value of a leading --data
		_jpki_reply dir "$cur"
		return
	fi
	if [ "$i" -eq "$COMP_CWORD" ]; then
		if [[ $cur == -* ]]; then
			candidates=""
			for word in --data --json --help; do
				[[ $given == *" $word "* ]] || candidates+="$word "
			done
			_jpki_reply "$candidates" "$cur"
		else
			_jpki_reply "$_jpki_groups" "$cur"
		fi
		return
	fi
	group=${COMP_WORDS[i]}
	i=$((i + 1))
	if [ "$group" = help ]; then
		[ "$i" -eq "$COMP_CWORD" ] && _jpki_reply "${_jpki_groups% help}" "$cur"
		return
	fi
	command=$group
	if [ -n "${_jpki_subcommands[$group]+set}" ]; then
		if [ "$i" -eq "$COMP_CWORD" ]; then
			_jpki_reply "${_jpki_subcommands[$group]}" "$cur"
			return
		fi
		sub=${COMP_WORDS[i]}
		command="$group $sub"
		i=$((i + 1))
	fi
	[ -n "${_jpki_options[$command]+set}" ] || return

	# The options given so far, and whether the word before the cursor is
	# an option waiting for its value (--out FILE, --out=FILE).
	while [ "$i" -lt "$COMP_CWORD" ]; do
		word=${COMP_WORDS[i]}
		if [ "$word" = "=" ]; then
			i=$((i + 1))
			continue
		fi
		case $word in
		--*=*) given+="${word%%=*} " ;;
		--*) given+="$word " ;;
		esac
		i=$((i + 1))
	done
	word=${COMP_WORDS[COMP_CWORD - 1]}
	[ "$word" = "=" ] && [ "$COMP_CWORD" -ge 2 ] && word=${COMP_WORDS[COMP_CWORD - 2]}
	if [[ $word == --* && $_jpki_flags != *" $word "* && $cur != --* ]] ||
		[[ ${COMP_WORDS[COMP_CWORD - 1]} == "=" ]]; then
		opt=$word
	fi
	[[ $cur == --*=* ]] && { opt=${cur%%=*}; cur=${cur#*=}; }
	if [ -n "$opt" ]; then
		_jpki_reply "$(_jpki_values "$command" "$opt")" "$cur"
		return
	fi
	if [[ $cur != -* ]]; then
		[ "$command" = "resident import" ] && _jpki_reply file "$cur"
		return
	fi
	candidates=""
	for word in ${_jpki_options[$command]} $(_jpki_common "$command"); do
		[[ $given == *" $word "* ]] || candidates+="$word "
	done
	_jpki_reply "$candidates" "$cur"
}

complete -F _jpki jpki
