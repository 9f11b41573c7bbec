# shellcheck shell=sh
# login_agent OS WANTED LAUNCH_AGENT SYSTEMD_UNIT: the user's service manager for the login
# agent and whether the agent is loaded in it. OS is `uname -s`; WANTED is "yes" when the deploy
# wants the agent; the other two are the home-relative paths of its file on macOS and on Linux.
# The manager is asked only when the agent is wanted or its file exists: a converged run without
# it asks nothing. Prints "agent_manager\tlaunchd|systemd"
# (and "agent_domain\tgui/UID" for launchd) or "agent_manager_missing\t<why>", then
# "agent_loaded\tyes|no".
login_agent() {
  agent_os=$1; agent_wanted=$2; agent_plist=$HOME/$3; agent_unit=$HOME/$4
  [ "$agent_wanted" = yes ] || [ -f "$agent_plist" ] || [ -f "$agent_unit" ] || return 0
  if [ "$agent_os" = Darwin ]; then
    agent_label=${agent_plist##*/}; agent_label=${agent_label%.plist}
    agent_domain=gui/$(id -u)
    if ! command -v launchctl >/dev/null 2>&1; then
      printf 'agent_manager_missing\tlaunchctl is not on PATH\n'
    elif ! launchctl print "$agent_domain" >/dev/null 2>&1; then
      printf 'agent_manager_missing\tno graphical login session for this user (launchd domain %s)\n' "$agent_domain"
    else
      printf 'agent_manager\tlaunchd\nagent_domain\t%s\n' "$agent_domain"
      if launchctl print "$agent_domain/$agent_label" >/dev/null 2>&1; then
        printf 'agent_loaded\tyes\n'
      else
        printf 'agent_loaded\tno\n'
      fi
    fi
    return 0
  fi
  if ! command -v systemctl >/dev/null 2>&1; then
    printf 'agent_manager_missing\tno systemctl on this host\n'
    return 0
  fi
  agent_state=$(systemctl --user is-system-running 2>/dev/null)
  case $agent_state in
    running | degraded | starting | initializing | maintenance)
      printf 'agent_manager\tsystemd\n'
      if [ "$(systemctl --user is-enabled "${agent_unit##*/}" 2>/dev/null)" = enabled ]; then
        printf 'agent_loaded\tyes\n'
      else
        printf 'agent_loaded\tno\n'
      fi
      ;;
    *)
      printf 'agent_manager_missing\tno systemd user manager runs for this user (systemctl --user: %s)\n' \
        "${agent_state:-no answer}"
      ;;
  esac
}
