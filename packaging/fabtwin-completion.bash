# bash completion for fabtwin: subcommands and their options, read from the installed command's own
# --help at completion time so that it always matches the binary.
_fabtwin() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local sub="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -*) ;;
      *) sub=${COMP_WORDS[i]}; break ;;
    esac
  done
  local help
  if [[ -z $sub ]]; then
    help=$("${COMP_WORDS[0]}" --help 2>/dev/null)
    if [[ $cur != -* ]]; then
      COMPREPLY=($(compgen -W "$(awk '/^Subcommands:/{on=1; next} on && NF {print $1}' <<<"$help")" -- "$cur"))
      return
    fi
  else
    help=$("${COMP_WORDS[0]}" "$sub" --help 2>/dev/null)
    if [[ $cur != -* ]]; then
      COMPREPLY=($(compgen -f -- "$cur"))
      return
    fi
  fi
  local opts
  opts=$(grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9_-]*' <<<"$help" | tr -d ' ,' | sort -u)
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _fabtwin fabtwin
