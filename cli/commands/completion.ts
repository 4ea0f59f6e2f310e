import { Command } from 'commander';
import { UsageError } from '../../schemas/errors.js';
import { prose } from '../command-kit.js';

/** `colony completion bash|zsh`: a completion script made from the commands as declared. */
export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .summary('shell completion script for bash or zsh')
    .usage('<bash | zsh>')
    .description(
      prose(`
Prints a completion script for commands, subcommands and options. Load it in the current
shell, or from your shell's start-up file:

  source <(colony completion bash)     # in ~/.bashrc
  source <(colony completion zsh)      # in ~/.zshrc`),
    )
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh')
        throw new UsageError(`completion: expected bash or zsh, got ${JSON.stringify(shell)}`);
      process.stdout.write(completionScript(program(), shell));
    });
}

/** The completion function for bash; zsh runs it through bashcompinit. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const name = program.name();
  const top = visible(program).map((c) => c.name());
  const cases: string[] = [];
  for (const cmd of visible(program)) {
    const subs = visible(cmd);
    if (subs.length) {
      cases.push(`    ${cmd.name()})`);
      cases.push(
        `      if [ "$COMP_CWORD" -eq 2 ]; then words="${subs.map((s) => s.name()).join(' ')}"`,
      );
      cases.push(`      else case "\${COMP_WORDS[2]}" in`);
      for (const sub of subs) cases.push(`        ${sub.name()}) words="${flags(sub)}" ;;`);
      cases.push('      esac; fi ;;');
    } else cases.push(`    ${cmd.name()}) words="${flags(cmd)}" ;;`);
  }
  const fn = `_${name}_complete`;
  const bash = `# ${name} completion (colony completion ${shell})
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${top.join(' ')} ${flags(program)}" -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  case "$cur" in
    -*) COMPREPLY=( $(compgen -W "$words" -- "$cur") ) ;;
    *) if [ "$COMP_CWORD" -eq 2 ] && [ -n "$words" ] && [ "\${words#-}" = "$words" ]; then
         COMPREPLY=( $(compgen -W "$words" -- "$cur") )
       else COMPREPLY=( $(compgen -f -- "$cur") ); fi ;;
  esac
}
complete -o default -F ${fn} ${name}
`;
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${bash}` : bash;
}

function visible(cmd: Command): Command[] {
  return cmd.commands.filter((c) => c.name() !== 'help');
}

function flags(cmd: Command): string {
  return cmd.options
    .flatMap((o) => [o.long, o.short].filter((f) => f !== undefined))
    .concat('--help')
    .join(' ');
}
