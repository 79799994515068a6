/**
 * `gitops completion bash|zsh|fish`: a completion script written from the command tree itself,
 * so a new command or flag completes without editing anything here. It completes subcommands,
 * their flags and the global ones, the values of flags with a fixed set (`-o`, `--log-level`),
 * and file names for `--kubeconfig`, `--crd` and path arguments.
 */
import type { Command, Option } from 'commander';

interface Spec {
  names: string[];
  description: string;
  options: Option[];
  /** The choices of the first argument, when it has a fixed set (e.g. `completion <shell>`). */
  argChoices?: string[];
}

const FILE_OPTIONS = new Set(['--kubeconfig', '--crd']);

function flagsOf(option: Option): string[] {
  return [option.short, option.long].filter((f): f is string => f !== undefined);
}

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

function specs(program: Command): Spec[] {
  return program.commands.map((c) => ({
    names: [c.name(), ...c.aliases()],
    description: c.description(),
    options: c.options.filter((o) => !o.hidden),
    ...(c.registeredArguments[0]?.argChoices === undefined
      ? {}
      : { argChoices: c.registeredArguments[0].argChoices }),
  }));
}

function globalOptions(program: Command): Option[] {
  return program.options.filter((o) => !o.hidden);
}

// Words in a script are our own names and flags, never user text; quoting keeps them inert anyway.
function shellWords(words: readonly string[]): string {
  return words.join(' ');
}

function bash(program: Command): string {
  const globals = globalOptions(program);
  const commands = specs(program);
  const all = [...globals, ...commands.flatMap((c) => c.options)];
  const valueFlags = [...new Set(all.filter(takesValue).flatMap(flagsOf))];
  const choiceCases: string[] = [];
  for (const o of globals) {
    if (o.argChoices !== undefined)
      choiceCases.push(
        `    *:${flagsOf(o).join('|*:')}) COMPREPLY=($(compgen -W "${shellWords(o.argChoices)}" -- "$cur")); return ;;`,
      );
  }
  for (const c of commands) {
    for (const o of c.options) {
      if (o.argChoices === undefined) continue;
      const pats = c.names.flatMap((n) => flagsOf(o).map((f) => `${n}:${f}`));
      choiceCases.push(
        `    ${pats.join('|')}) COMPREPLY=($(compgen -W "${shellWords(o.argChoices)}" -- "$cur")); return ;;`,
      );
    }
  }
  const optionCases = commands.map((c) => {
    const flags = shellWords(c.options.flatMap(flagsOf));
    const args =
      c.argChoices === undefined
        ? ''
        : ` [[ "$cur" != -* ]] && { COMPREPLY=($(compgen -W "${shellWords(c.argChoices)}" -- "$cur")); return; };`;
    return `    ${c.names.join('|')}) opts="${flags}";${args} ;;`;
  });
  return `# bash completion for gitops (gitops completion bash)
_gitops() {
  local cur prev cmd="" skip=0 i w opts=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ $skip == 1 ]]; then skip=0; continue; fi
    case "$w" in
      ${valueFlags.join('|')}) skip=1 ;;
      -*) ;;
      *) [[ -z "$cmd" ]] && cmd="$w" ;;
    esac
  done
  case "$prev" in
    ${[...FILE_OPTIONS].join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "$cmd:$prev" in
${choiceCases.join('\n')}
  esac
  local globals="${shellWords(globals.flatMap(flagsOf))}"
  if [[ -z "$cmd" ]]; then
    if [[ "$cur" == -* ]]; then
      COMPREPLY=($(compgen -W "$globals" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "${shellWords(commands.flatMap((c) => c.names))}" -- "$cur"))
    fi
    return
  fi
  case "$cmd" in
${optionCases.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts $globals" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _gitops gitops
`;
}

// zsh reads the bash script through its own bashcompinit, as many CLIs ship it.
function zsh(program: Command): string {
  return `#compdef gitops
# zsh completion for gitops (gitops completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(program)}`;
}

function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function fishOption(o: Option, condition: string): string {
  const parts = ['complete -c gitops'];
  if (condition !== '') parts.push(`-n ${fishQuote(condition)}`);
  if (o.short !== undefined) parts.push(`-s ${o.short.replace(/^-/, '')}`);
  if (o.long !== undefined) parts.push(`-l ${o.long.replace(/^--/, '')}`);
  if (takesValue(o)) parts.push(o.long !== undefined && FILE_OPTIONS.has(o.long) ? '-r -F' : '-r -f');
  if (o.argChoices !== undefined) parts.push(`-a ${fishQuote(o.argChoices.join(' '))}`);
  parts.push(`-d ${fishQuote(o.description)}`);
  return parts.join(' ');
}

function fish(program: Command): string {
  const commands = specs(program);
  const names = commands.flatMap((c) => c.names).join(' ');
  const lines = ['# fish completion for gitops (gitops completion fish)', 'complete -c gitops -f'];
  for (const o of globalOptions(program)) lines.push(fishOption(o, ''));
  for (const c of commands) {
    lines.push(
      `complete -c gitops -n ${fishQuote(`not __fish_seen_subcommand_from ${names}`)} -a ${c.names[0]} -d ${fishQuote(c.description)}`,
    );
    const seen = `__fish_seen_subcommand_from ${c.names.join(' ')}`;
    for (const o of c.options) lines.push(fishOption(o, seen));
    if (c.argChoices !== undefined)
      lines.push(`complete -c gitops -n ${fishQuote(seen)} -a ${fishQuote(c.argChoices.join(' '))}`);
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(program: Command, shell: 'bash' | 'zsh' | 'fish'): string {
  if (shell === 'bash') return bash(program).trimEnd();
  if (shell === 'zsh') return zsh(program).trimEnd();
  return fish(program).trimEnd();
}
