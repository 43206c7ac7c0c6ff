import { PANEL_CSP, PANEL_TEXT, panelPage, panelScript } from './dev-panel-page';

describe('the developer panel page', () => {
  it('has every string in both languages, the Chinese ones in Chinese', () => {
    expect(Object.keys(PANEL_TEXT.en).sort()).toEqual(Object.keys(PANEL_TEXT.zh).sort());
    const english: Record<string, string> = PANEL_TEXT.en;
    const chinese: Record<string, string> = PANEL_TEXT.zh;
    const untranslated = Object.entries(chinese).filter(([key, text]) => !/[\u4e00-\u9fff]/.test(text) || text === english[key]);
    expect(untranslated).toEqual([]);
  });

  it('loads only its own script and stylesheet, which its policy allows, and no inline script', () => {
    const page = panelPage();
    expect([...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual(['/panel.css', '/panel.js']);
    expect(page).not.toMatch(/<script>|<style>|style="/);
    expect(PANEL_CSP).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/);
  });

  it('puts the data it shows into the page as text, never as markup', () => {
    expect(panelScript()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
