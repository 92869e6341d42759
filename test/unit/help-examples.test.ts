import { buildProgram } from '../../cli/main';

describe('--help of every command', () => {
  it('ends with an example that names the command', () => {
    // Prepare
    const out: string[] = [];
    const program = buildProgram({ stdout: (text: string) => out.push(text), stderr: () => undefined, isTTY: false });

    // Act / Assess
    expect(program.commands.length).toBeGreaterThanOrEqual(5);
    for (const command of program.commands) {
      out.length = 0;
      command.outputHelp();
      const help = out.join('');
      expect(help).toMatch(new RegExp(`Examples:\\n  \\$ s3xcopy ${command.name()} --`));
    }
  });
});
