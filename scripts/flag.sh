# Sourced by the scripts that read flag variables (FLASHGEN_NIGHTLY,
# FLASHGEN_WITH_TORCH): the spellings the runtime accepts (runtime/Env.cpp),
# and a warning, not a silent "off", for anything else.
#   flashgen_flag NAME DEFAULT   prints 1 (on) or 0 (off); DEFAULT is 1 or 0
flashgen_flag() {
  local name=$1 default=$2
  local value=${!name:-}
  case "${value,,}" in
    1 | true | on | yes) echo 1 ;;
    0 | false | off | no) echo 0 ;;
    "") echo "$default" ;;
    *)
      echo "$(basename "$0"): warning: $name=$value is not a recognised value" \
        "(accepted: 1, true, on, yes or 0, false, off, no (any case));" \
        "read as $([ "$default" = 1 ] && echo on || echo off), its default" >&2
      echo "$default"
      ;;
  esac
}
